"""End to end: the built Caretaker app under Xvfb, driven through WebDriver.

tauri-driver (crates.io) fronts WebKitWebDriver (Debian webkit2gtk-driver). Run under
`xvfb-run -a dbus-run-session --`; `cargo xtask test` does that.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "e2e" / "out"
APP = Path(os.environ.get("CARETAKER_APP", ROOT / "target" / "debug" / "caretaker-app"))
# "attached": the app attaches to a separately started `caretaker run`, as it does to the
# background service; "in-process": no engine runs, so the app starts one of its own.
ENGINE = os.environ.get("E2E_ENGINE", "attached")
CLI = Path(os.environ.get("CARETAKER_CLI", APP.parent / "caretaker"))


def waiter(d, secs, poll):
    """A wait that polls what the app shows. The page re-renders as engine events arrive, so a
    node found a moment ago can be replaced while WebKit's driver builds its handle: that is a
    reason to look again, not a failure."""
    return WebDriverWait(d, secs, poll_frequency=poll, ignored_exceptions=(StaleElementReferenceException,))


def engine_answers(data: str) -> bool:
    with socket.socket(socket.AF_UNIX) as s:
        return s.connect_ex(str(Path(data, "caretaker.sock"))) == 0


def open_restore_of(wait, folder: Path, name: str) -> None:
    """In the open snapshot browser: the newest snapshot, down to `folder`, then Restore… on `name`."""
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=snapshot-row] [data-testid=snapshot-browse]")).click()
    for part in folder.parts[1:]:
        row = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f"[data-testid=tree-entry][data-name='{part}']"))
        row.find_element(By.CSS_SELECTOR, "button.link").click()
    row = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f"[data-testid=tree-entry][data-name='{name}']"))
    row.find_element(By.CSS_SELECTOR, "[data-testid=restore-entry]").click()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"tauri-driver did not listen on {port}")


class OverviewTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not APP.exists():
            raise RuntimeError(f"build the app first (cargo xtask test does): {APP} is missing")
        cls.data = tempfile.mkdtemp(prefix="caretaker-e2e-")
        # A check of a port nobody listens on: it goes down, and its alert opens on the first failure.
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed_port = s.getsockname()[1]
        cls.closed_port = closed_port
        Path(cls.data, "caretaker.toml").write_text(
            "[metrics]\ninterval_secs = 1\n"
            "[alerts]\ncheck_failures_before_alert = 1\n"
            "[notifications]\nenabled = false\n"
            # A slow optional task, so a run lasts long enough to watch and to refuse a second one.
            "[maintenance]\ncommand = { argv = [\"/bin/sleep\", \"3\"] }\n"
            "[[checks.list]]\nname = \"Closed port\"\ninterval_secs = 5\ntimeout_secs = 2\n"
            f"tcp = {{ host = \"127.0.0.1\", port = {closed_port} }}\n"
        )
        # CARETAKER_TEST_CONFIRM is test-only (debug builds): it answers the native confirmation
        # dialogs (a restore into a folder with files in it) that no one can click under Xvfb.
        # No keychain under Xvfb: the backup password goes to a private file (the UI says so).
        # CARETAKER_TEST_PICK (debug builds too): the file whose first line answers the next native
        # folder dialog, for the same reason.
        cls.pick = Path(cls.data).parent / f"{Path(cls.data).name}-pick"
        cls.pick.write_text("")
        env = dict(os.environ, CARETAKER_DATA_DIR=cls.data, CARETAKER_LOG="info", CARETAKER_KEYCHAIN="off", CARETAKER_TEST_CONFIRM="yes",
                   CARETAKER_TEST_PICK=str(cls.pick))
        cls.env = env
        cls.engine = None
        if ENGINE == "attached":
            cls.start_engine()
        driver_bin = shutil.which("tauri-driver") or str(Path.home() / ".cargo" / "bin" / "tauri-driver")
        port, native = free_port(), free_port()
        OUT.mkdir(parents=True, exist_ok=True)
        cls.driver_proc = subprocess.Popen(
            [driver_bin, "--port", str(port), "--native-port", str(native)],
            env=env, stdout=subprocess.DEVNULL, stderr=open(OUT / "driver.log", "w") if os.environ.get("E2E_DEBUG") else subprocess.DEVNULL,
        )
        wait_port(port)
        opts = ArgOptions()
        opts.set_capability("browserName", "wry")
        opts.set_capability("tauri:options", {"application": str(APP)})
        # tauri-driver accepts connections before WebKitWebDriver behind it is ready; the first
        # new-session request can be dropped. Retry a few times, then fail with the last error.
        for attempt in range(5):
            try:
                cls.driver = webdriver.Remote(command_executor=f"http://127.0.0.1:{port}", options=opts)
                break
            except Exception:
                if attempt == 4:
                    cls._stop_driver()
                    raise
                time.sleep(1.0)
        cls.driver.set_window_size(1360, 1000)

    @classmethod
    def start_engine(cls):
        """Starts `caretaker run` on the test's data folder (the test is its supervisor) and
        waits until its control socket answers."""
        cls.engine = subprocess.Popen([str(CLI), "run", "--data-dir", cls.data], env=cls.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while not engine_answers(cls.data):
            if cls.engine.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"caretaker run did not answer on its socket (exit {cls.engine.poll()})")
            time.sleep(0.1)

    @classmethod
    def _stop_engine(cls):
        if cls.engine and cls.engine.poll() is None:
            cls.engine.terminate()
            try:
                cls.engine.wait(20)
            except subprocess.TimeoutExpired:
                cls.engine.kill()
                cls.engine.wait(5)

    @classmethod
    def _stop_driver(cls):
        cls.driver_proc.terminate()
        try:
            cls.driver_proc.wait(10)
        except subprocess.TimeoutExpired:
            cls.driver_proc.kill()
            cls.driver_proc.wait(5)
        cls._stop_engine()
        shutil.rmtree(cls.data, ignore_errors=True)
        Path(cls.pick).unlink(missing_ok=True)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.driver.quit()
        finally:
            cls._stop_driver()
            if getattr(cls, "rest_server", None):
                cls.rest_server.kill()
                cls.rest_server.wait()
            if getattr(cls, "backup_work", None):
                shutil.rmtree(cls.backup_work, ignore_errors=True)

    def setUp(self):
        # Every test starts from the same place, whatever the one before left behind: nothing
        # focused (a focused field can keep a popup open that takes the next click) and the
        # Overview on screen (a page's forms and dialogs live only while it is shown).
        d = self.driver
        d.execute_script("if (document.activeElement) document.activeElement.blur();")
        wait = waiter(d, 40, 0.2)
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=tab-overview]")).click()
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=cpu-value]"))

    def replace_text(self, field, text: str) -> None:
        """Types `text` over what a field holds. WebDriver's clear() is not used: it changes the
        DOM behind React's back, and the page's next render (the Backups page renders every
        second) puts the old value back before the first key arrives."""
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(text)

    def tearDown(self):
        # On failure, keep what the window showed and its DOM for the person reading the CI log.
        OUT.mkdir(parents=True, exist_ok=True)
        try:
            self.driver.save_screenshot(str(OUT / f"{self._testMethodName}-last.png"))
            (OUT / f"{self._testMethodName}-last.html").write_text(self.driver.page_source)
        except Exception as e:  # the session may be gone; the original failure is what matters
            print(f"could not capture the window: {e}", file=sys.stderr)

    def test_alert_is_acknowledged_from_the_alerts_page(self):
        d = self.driver
        wait = waiter(d, 40, 0.2)
        # The service shows as down on the Overview, and its alert opens.
        wait.until(lambda d: "down" in d.find_element(By.CSS_SELECTOR, "[data-testid='overview-check-Closed port']").text)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=overview-alert]"))
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=tab-alerts]")).click()
        card = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid^=alert-].alert.active"))
        self.assertIn("Closed port is down", card.text)
        self.assertEqual(card.find_element(By.CSS_SELECTOR, "[data-testid=alert-status]").text, "active")
        card.find_element(By.CSS_SELECTOR, "[data-testid=ack]").click()
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid^=alert-] [data-testid=alert-status]").text.startswith("acknowledged"))
        # Its runbook opens in the app.
        d.find_element(By.XPATH, "//button[text()='Runbook']").click()
        self.assertIn("A service is down", wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=runbook]")).text)
        OUT.mkdir(parents=True, exist_ok=True)
        d.save_screenshot(str(OUT / "alerts.png"))
        d.find_element(By.CSS_SELECTOR, "[data-testid=tab-services]").click()
        tile = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid='check-Closed port']"))
        self.assertIn("down", tile.find_element(By.CSS_SELECTOR, "[data-testid=check-status]").text)
        d.save_screenshot(str(OUT / "services.png"))

    def test_backup_now_then_restore_a_file_through_the_ui(self):
        d = self.driver
        wait = waiter(d, 30, 0.2)
        work = Path(tempfile.mkdtemp(prefix="caretaker-e2e-backup-"))
        type(self).backup_work = work  # kept for the maintenance test, removed in tearDownClass
        src, repo, out = work / "Documents", work / "disk" / "repo", work / "Restored"
        (src / "letters").mkdir(parents=True)
        (work / "disk").mkdir()
        out.mkdir()
        (src / "letters" / "dear.txt").write_text("Dear you,\nall is well.\n")
        (src / "photo.bin").write_bytes(os.urandom(300_000))

        # First run: the wizard creates the plan and the repository.
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=tab-backups]")).click()
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=backup-wizard]"))
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=wizard-password]").get_attribute("value"))
        self.replace_text(d.find_element(By.CSS_SELECTOR, "[data-testid=wizard-name]"), "Docs")
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=wizard-name]").get_attribute("value") == "Docs")
        # The folder comes from the native dialog (answered by the test switch), not typed.
        self.pick.write_text(f"{src}\n")
        d.find_element(By.CSS_SELECTOR, "[data-testid=wizard-sources-pick]").click()
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=wizard-sources]").get_attribute("value") == str(src))
        d.find_element(By.CSS_SELECTOR, "[data-testid=wizard-repository]").send_keys(str(repo))
        create = d.find_element(By.CSS_SELECTOR, "[data-testid=wizard-create]")
        self.assertFalse(create.is_enabled(), "the password must be saved first")
        d.find_element(By.CSS_SELECTOR, "[data-testid=wizard-saved]").click()
        create.click()
        warning = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=password-file-warning]"))
        self.assertIn("No keychain", warning.text)
        warning.find_element(By.TAG_NAME, "button").click()
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid=password-file-warning]"))
        self.assertTrue((repo / "config").exists(), "the repository was created")

        # Back up now: progress, then the run's result on the plan card.
        card = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=plan-card][data-plan=Docs]"))
        card.find_element(By.CSS_SELECTOR, "[data-testid=backup-now]").click()
        waiter(d, 120, 0.3).until(
            lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=plan-last-run]").text.startswith("ok")
        )
        self.assertIn("new", d.find_element(By.CSS_SELECTOR, "[data-testid=plan-last-run]").text)
        WebDriverWait(d, 60).until(lambda d: "Up to date" in d.find_element(By.CSS_SELECTOR, "[data-testid=plan-health]").text)
        # The Overview says the same: the plan's last good copy is fresh.
        d.find_element(By.CSS_SELECTOR, "[data-testid=tab-overview]").click()
        wait.until(lambda d: "last good copy" in d.find_element(By.CSS_SELECTOR, "[data-testid=overview-plan][data-plan=Docs]").text)
        d.find_element(By.CSS_SELECTOR, "[data-testid=tab-backups]").click()
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=plan-card][data-plan=Docs]"))

        # Restore one file: browse the snapshot down to it.
        d.find_element(By.CSS_SELECTOR, "[data-testid=restore-open]").click()
        open_restore_of(wait, src / "letters", "dear.txt")
        self.pick.write_text(f"{out}\n")
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=restore-dest-pick]")).click()
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=restore-dest]").get_attribute("value") == str(out))
        d.find_element(By.CSS_SELECTOR, "[data-testid=restore-go]").click()
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=restore-done]"))
        self.assertEqual((out / "dear.txt").read_text(), "Dear you,\nall is well.\n")

        # Again, onto the file just restored and since edited: the UI asks, and keeps both.
        (out / "dear.txt").write_text("edited after the restore")
        d.find_element(By.XPATH, "//div[@data-testid='restore-dialog']//button[text()='Close']").click()
        row = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=tree-entry][data-name='dear.txt']"))
        row.find_element(By.CSS_SELECTOR, "[data-testid=restore-entry]").click()
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=restore-dest]")).send_keys(str(out))
        d.find_element(By.CSS_SELECTOR, "[data-testid=restore-go]").click()
        conflict = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=restore-conflict]"))
        self.assertIn("1 file(s) already exist", conflict.text)
        self.assertEqual((out / "dear.txt").read_text(), "edited after the restore")
        d.find_element(By.CSS_SELECTOR, "[data-testid=conflict-keep-both]").click()
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=restore-done]"))
        self.assertEqual((out / "dear.txt").read_text(), "edited after the restore")
        copies = [p.name for p in out.iterdir() if p.name.startswith("dear (restored ")]
        self.assertEqual(len(copies), 1, copies)
        self.assertEqual((out / copies[0]).read_text(), "Dear you,\nall is well.\n")
        OUT.mkdir(parents=True, exist_ok=True)
        d.save_screenshot(str(OUT / "backups.png"))

    def test_backup_offsite_copy_on_a_rest_server_backs_up_and_restores_a_file(self):
        """After the local plan above: its card offers an offsite copy; the wizard (same folders)
        creates it on a REST server (Debian's `rclone serve restic` on loopback) after a passing
        connection test; it backs up; a file is browsed and restored from the remote repository."""
        work = getattr(type(self), "backup_work", None)
        if work is None:
            self.skipTest("needs the local plan the backup test creates")
        d = self.driver
        wait = waiter(d, 30, 0.2)
        port = free_port()
        store, out = work / "rest-store", work / "From the server"
        out.mkdir()
        type(self).rest_server = subprocess.Popen(
            ["rclone", "serve", "restic", "--addr", f"127.0.0.1:{port}", str(store)],
            env=dict(os.environ, RCLONE_CONFIG=str(work / "rclone.conf")), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_port(port)

        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=tab-backups]")).click()
        card = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=plan-card][data-plan=Docs]"))
        self.assertIn("none", card.find_element(By.CSS_SELECTOR, "[data-testid=plan-offsite]").text)
        card.find_element(By.CSS_SELECTOR, "[data-testid=plan-offsite-add]").click()
        wizard = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=backup-wizard]"))
        self.assertIn("Add an offsite copy of Docs", wizard.text)
        src = work / "Documents"
        self.assertEqual(d.find_element(By.CSS_SELECTOR, "[data-testid=wizard-sources]").get_attribute("value"), str(src))
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=wizard-password]").get_attribute("value"))
        d.find_element(By.CSS_SELECTOR, "[data-testid=where-rest]").click()
        d.find_element(By.CSS_SELECTOR, "[data-testid=where-url]").send_keys(f"http://127.0.0.1:{port}/docs-offsite")
        d.find_element(By.CSS_SELECTOR, "[data-testid=wizard-saved]").click()
        create = d.find_element(By.CSS_SELECTOR, "[data-testid=wizard-create]")
        self.assertFalse(create.is_enabled(), "a server is tested before the plan is created")
        d.find_element(By.CSS_SELECTOR, "[data-testid=where-test]").click()
        result = waiter(d, 60, 0.2).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=where-result]"))
        self.assertIn("reachable and empty", result.text)
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=wizard-create]").is_enabled())
        d.find_element(By.CSS_SELECTOR, "[data-testid=wizard-create]").click()
        warning = waiter(d, 60, 0.2).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=password-file-warning]"))
        warning.find_element(By.TAG_NAME, "button").click()
        self.assertTrue((store / "docs-offsite" / "config").exists(), "the repository was created on the server")

        remote = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=plan-card][data-plan='Docs offsite']"))
        remote.find_element(By.CSS_SELECTOR, "[data-testid=backup-now]").click()
        waiter(d, 120, 0.3).until(
            lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=plan-card][data-plan='Docs offsite'] [data-testid=plan-last-run]").text.startswith("ok")
        )
        # The local plan now names its offsite copy.
        wait.until(lambda d: "Docs offsite" in d.find_element(By.CSS_SELECTOR, "[data-testid=plan-card][data-plan=Docs] [data-testid=plan-offsite]").text)

        # Restore one file from the server's repository.
        d.find_element(By.CSS_SELECTOR, "[data-testid=plan-card][data-plan='Docs offsite'] [data-testid=restore-open]").click()
        open_restore_of(wait, src / "letters", "dear.txt")
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=restore-dest]")).send_keys(str(out))
        d.find_element(By.CSS_SELECTOR, "[data-testid=restore-go]").click()
        waiter(d, 60, 0.2).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=restore-done]"))
        self.assertEqual((out / "dear.txt").read_text(), "Dear you,\nall is well.\n")
        OUT.mkdir(parents=True, exist_ok=True)
        d.save_screenshot(str(OUT / "backups-offsite.png"))

    def test_maintenance_run_now_shows_progress_and_refuses_a_second_run(self):
        d = self.driver
        wait = waiter(d, 40, 0.1)
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=tab-monitor]")).click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid=task-db_integrity]"))
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=run-now]").is_enabled())
        d.find_element(By.CSS_SELECTOR, "[data-testid=run-now]").click()
        # While it runs: the button is disabled and says so, and the engine refuses a second run.
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=run-now]").text == "Running…")
        self.assertFalse(d.find_element(By.CSS_SELECTOR, "[data-testid=run-now]").is_enabled())
        self.assertIn("Running task", d.find_element(By.CSS_SELECTOR, "[data-testid=maintenance-state]").text)
        refused = d.execute_async_script(
            "const cb = arguments[arguments.length - 1];"
            "window.__TAURI_INTERNALS__.invoke('run_maintenance', {}).then(() => cb('started'), (e) => cb(e));"
        )
        self.assertIsInstance(refused, dict, refused)
        self.assertEqual(refused["kind"], "already_running")
        self.assertIn("maintenance is already running", refused["message"])
        # The grid fills in, then the summary appears.
        summary = waiter(d, 30, 0.2).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=maintenance-summary]"))
        self.assertRegex(summary.text, r"completed, \d+ failed, \d+ skipped")
        states = {e.get_attribute("data-testid"): e.get_attribute("data-status") for e in d.find_elements(By.CSS_SELECTOR, "[data-testid=task-grid] [data-status]")}
        self.assertEqual(states["task-db_integrity"], "completed")
        # The backup test (it runs first) left a plan whose repository is still there: the task
        # checks it for real. Without a plan it is skipped ("backups are not configured").
        expected = "completed" if getattr(type(self), "backup_work", None) else "skipped"
        self.assertEqual(states["task-verify_backups"], expected)
        self.assertEqual(states["task-prune_backups"], expected)
        self.assertEqual(states["task-run_command"], "completed")
        self.assertTrue(all(s in ("completed", "skipped", "failed") for s in states.values()), states)
        self.assertTrue(d.find_element(By.CSS_SELECTOR, "[data-testid=run-now]").is_enabled())
        OUT.mkdir(parents=True, exist_ok=True)
        d.save_screenshot(str(OUT / "maintenance.png"))
        # The Logs tab finds the run's lines by text.
        d.find_element(By.CSS_SELECTOR, "[data-testid=monitor-logs]").click()
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=log-search]")).send_keys("maintenance run finished")
        WebDriverWait(d, 10).until(lambda d: "maintenance run finished" in d.find_element(By.CSS_SELECTOR, "[data-testid=log-lines]").text)
        d.save_screenshot(str(OUT / "logs.png"))

    def test_enabling_insights_without_a_model_server_explains_and_stays_off(self):
        d = self.driver
        wait = waiter(d, 30, 0.2)
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=tab-insights]")).click()
        # The form fills in from the engine's saved settings: type only once it has, or the
        # arriving settings replace what was typed.
        endpoint = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=analysis-endpoint]"))
        wait.until(lambda d: endpoint.get_attribute("value"))
        self.replace_text(endpoint, f"http://127.0.0.1:{self.closed_port}/v1")
        d.find_element(By.CSS_SELECTOR, "[data-testid=analysis-enabled]").click()
        err = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=analysis-error]"))
        self.assertIn(f"no model server at http://127.0.0.1:{self.closed_port}/v1", err.text)
        self.assertIn("start Ollama or set analysis.endpoint", err.text)
        self.assertFalse(d.find_element(By.CSS_SELECTOR, "[data-testid=analysis-enabled]").is_selected())
        editor = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=prompt-editor]"))
        wait.until(lambda d: editor.get_attribute("value"))
        self.assertIn("You are the log analyst", editor.get_attribute("value"))

    @unittest.skipUnless(ENGINE == "attached", "the app's own engine goes with the app")
    def test_engine_killed_and_restarted_the_window_says_so_and_reconnects_without_a_reload(self):
        d = self.driver
        wait = waiter(d, 40, 0.2)
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=cpu-value][data-ts]"))
        # A mark in the page: a reload would wipe it.
        d.execute_script("window.__stillTheSamePage = true;")
        self.engine.kill()
        self.engine.wait(10)
        banner = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=engine-gone]"))
        self.assertIn("engine stopped", banner.text)
        # A command while it is gone fails with what happened, not a blank page.
        self.assertFalse(engine_answers(self.data))

        # The supervisor (launchd or systemd on a real machine) brings it back.
        type(self).start_engine()
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid=engine-gone]"))
        before = d.find_element(By.CSS_SELECTOR, "[data-testid=cpu-value]").get_attribute("data-ts")
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=cpu-value]").get_attribute("data-ts") != before)
        self.assertTrue(d.execute_script("return window.__stillTheSamePage === true;"), "the window reconnected without reloading")

    def test_live_cpu_updates_then_1h_range(self):
        d = self.driver
        wait = waiter(d, 30, 0.2)
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=cpu-value][data-ts]"))

        # Live values: at least two updates after the first one seen, each waited for.
        seen = []

        def new_sample(d):
            el = d.find_element(By.CSS_SELECTOR, "[data-testid=cpu-value]")
            ts, text = el.get_attribute("data-ts"), el.text
            return (ts, text) if ts and (not seen or seen[-1] != ts) else None

        try:
            while len(set(seen)) < 3:
                ts, text = waiter(d, 15, 0.2).until(new_sample)
                seen.append(ts)
                value = float(re.match(r"([\d.]+) %", text).group(1))
                self.assertTrue(0.0 <= value <= 100.0, text)
        except TimeoutException:
            pass
        self.assertGreaterEqual(len(set(seen)), 3, f"CPU value updated fewer than twice: {seen}")
        self.assertIn("Live", d.find_element(By.CSS_SELECTOR, "[data-testid=engine-health]").text)

        # The process list and the coming capabilities are there.
        self.assertIn("Top processes by CPU", d.find_element(By.CSS_SELECTOR, "[data-testid=top-cpu]").text)
        self.assertNotIn("Coming soon", d.find_element(By.CSS_SELECTOR, "[data-testid=capability-backups]").text)

        # Switch to the 1 h range: the chart re-reads history from the engine.
        d.find_element(By.CSS_SELECTOR, "[data-testid=range-1h]").click()
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=range-1h]").get_attribute("aria-selected") == "true")
        res = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=chart-cpu-resolution]"))
        self.assertEqual(res.text.lower(), "raw")
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid=chart-cpu] .chart-empty"))
        # uPlot drew a path for the CPU series.
        wait.until(lambda d: d.execute_script(
            "return document.querySelectorAll('[data-testid=chart-cpu] canvas').length") > 0)

        OUT.mkdir(parents=True, exist_ok=True)
        shot = OUT / "overview-1h.png"
        d.save_screenshot(str(shot))
        self.assertGreater(shot.stat().st_size, 10_000)


if __name__ == "__main__":
    sys.exit(0 if unittest.main(exit=False, verbosity=2).result.wasSuccessful() else 1)
