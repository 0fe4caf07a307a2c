"""The window's life without WebDriver: closing it (the window manager's close button, as a
person does) destroys the web view and leaves the tray; an app attached to the service becomes
the light `caretaker-tray` process (same pid, no WebKit mapped); launching the app again opens the
window in that process, which becomes the app again.

Run under `xvfb-run -a dbus-run-session --` with openbox and wmctrl installed; `cargo xtask test`
does that.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = Path(os.environ.get("CARETAKER_APP", ROOT / "target" / "debug" / "caretaker-app"))
CLI = Path(os.environ.get("CARETAKER_CLI", APP.parent / "caretaker"))


def until(what, secs, f):
    deadline = time.time() + secs
    while time.time() < deadline:
        value = f()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {secs} s: {what}")


def windows() -> int:
    out = subprocess.run(["wmctrl", "-l"], capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if line.rstrip().endswith("Caretaker"))


def window_manager_runs() -> bool:
    return subprocess.run(["wmctrl", "-m"], capture_output=True).returncode == 0


def children(pid: int) -> list[str]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    names = []
    for c in out:
        try:
            names.append(Path(f"/proc/{c}/comm").read_text().strip())
        except OSError:
            pass
    return names


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def answers(data: str) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        return s.connect_ex(str(Path(data, "caretaker.sock"))) == 0


class WindowTest(unittest.TestCase):
    def setUp(self):
        self.data = tempfile.mkdtemp(prefix="caretaker-window-")
        Path(self.data, "caretaker.toml").write_text("[notifications]\nenabled = false\n")
        self.env = dict(os.environ, CARETAKER_DATA_DIR=self.data, CARETAKER_KEYCHAIN="off")
        self.procs = [subprocess.Popen(["openbox"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        # Until the window manager runs, `wmctrl -l` lists nothing: the counts below would be
        # wrong (a window opened before it is adopted, but none is listed while it starts).
        until("the window manager runs", 30, window_manager_runs)
        until("no window left from before", 10, lambda: windows() == 0)

    def tearDown(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(self.data, ignore_errors=True)

    def start(self, argv):
        p = subprocess.Popen(argv, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def test_attached_app_closes_to_the_tray_process_and_opens_again(self):
        engine = self.start([str(CLI), "run", "--data-dir", self.data])
        until("the engine answers", 30, lambda: answers(self.data))
        app = self.start([str(APP)])
        until("the window opens", 40, lambda: windows() == 1)
        until("the web view runs", 20, lambda: "WebKitWebProces" in children(app.pid))

        subprocess.run(["wmctrl", "-c", "Caretaker"], check=True)
        until("the window is gone", 20, lambda: windows() == 0)
        # The same process (pid) continues as the tray process: no web process behind it, and no
        # WebKit library mapped in it.
        until("the app becomes caretaker-tray", 20, lambda: comm(app.pid) == "caretaker-tray")
        until("no web process is left", 20, lambda: not any(c.startswith("WebKit") for c in children(app.pid)))
        maps = Path(f"/proc/{app.pid}/maps").read_text()
        self.assertNotIn("libwebkit", maps, "the tray process maps no web engine")
        self.assertIsNone(app.poll(), "the tray stays")
        self.assertIsNone(engine.poll(), "closing the window does not touch the engine")

        # Launching the app again hands over to the tray process, which opens the window (and
        # becomes the app again, same pid).
        second = subprocess.run([str(APP)], env=self.env, timeout=60, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.assertEqual(second.returncode, 0)
        until("the window opens again", 40, lambda: windows() == 1)
        self.assertIsNone(app.poll())
        self.assertEqual(comm(app.pid), "caretaker-app")

        # And closing it again leaves the tray process again: the round trip holds.
        subprocess.run(["wmctrl", "-c", "Caretaker"], check=True)
        until("the window is gone again", 20, lambda: windows() == 0)
        until("caretaker-tray again", 20, lambda: comm(app.pid) == "caretaker-tray")
        self.assertIsNone(engine.poll())

    def test_an_app_with_its_own_engine_keeps_it_running_with_the_window_closed(self):
        app = self.start([str(APP)])
        until("the window opens", 40, lambda: windows() == 1)
        until("its engine answers", 30, lambda: answers(self.data))
        subprocess.run(["wmctrl", "-c", "Caretaker"], check=True)
        until("the window is gone", 20, lambda: windows() == 0)
        until("no web process is left", 20, lambda: not any(c.startswith("WebKitWeb") for c in children(app.pid)))
        self.assertIsNone(app.poll(), "the tray stays")
        self.assertNotIn("--tray-only", Path(f"/proc/{app.pid}/cmdline").read_text(), "its engine lives in this process")
        self.assertTrue(answers(self.data), "the engine keeps watching")


if __name__ == "__main__":
    unittest.main(verbosity=2)
