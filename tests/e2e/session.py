"""One WebDriver session on the built app: tauri-driver started with the test's environment,
the app launched through it, and both stopped again. Shared by the WebDriver suites."""

import shutil
import subprocess
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.options import ArgOptions

from test_overview import APP, free_port, wait_port


def open_app(env: dict, log=subprocess.DEVNULL):
    """Starts tauri-driver and the app under it; returns (driver, tauri-driver process)."""
    driver_bin = shutil.which("tauri-driver") or str(Path.home() / ".cargo" / "bin" / "tauri-driver")
    port, native = free_port(), free_port()
    proc = subprocess.Popen([driver_bin, "--port", str(port), "--native-port", str(native)], env=env, stdout=subprocess.DEVNULL, stderr=log)
    wait_port(port)
    opts = ArgOptions()
    opts.set_capability("browserName", "wry")
    opts.set_capability("tauri:options", {"application": str(APP)})
    # tauri-driver accepts connections before WebKitWebDriver behind it is ready; the first
    # new-session request can be dropped. Retry a few times, then fail with the last error.
    for attempt in range(5):
        try:
            driver = webdriver.Remote(command_executor=f"http://127.0.0.1:{port}", options=opts)
            driver.set_window_size(1360, 1000)
            return driver, proc
        except Exception:
            if attempt == 4:
                stop_driver(proc)
                raise
            time.sleep(1.0)
    raise RuntimeError("unreachable")


def stop_driver(proc) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def close_app(driver, proc) -> None:
    try:
        if driver is not None:
            driver.quit()
    finally:
        stop_driver(proc)
