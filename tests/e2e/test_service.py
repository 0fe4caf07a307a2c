"""The background-service switch, driven through the window: the first-run question moves the
app's own engine into the service, and the Settings switch brings it back, with the window live
throughout. Linux CI has no user service manager, so `systemctl` here is a stand-in
(`standin/systemctl`) that acts on the unit `caretaker service install` writes, as systemd would.

Run like test_overview.py (under Xvfb and a D-Bus session); `cargo xtask test` does that.
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from selenium.webdriver.common.by import By

from session import close_app, open_app
from test_overview import CLI, OUT, waiter

STANDIN = Path(__file__).resolve().parent / "standin"


def comm(pid: int) -> str:
    """The running process's name; "" once it is gone (a zombie left to a parent that does not
    reap, as init in a container may be, has ended too)."""
    try:
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return ""
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (OSError, IndexError):
        return ""


class ServiceSwitchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.data = tempfile.mkdtemp(prefix="caretaker-service-")
        cls.xdg = tempfile.mkdtemp(prefix="caretaker-xdg-")
        Path(cls.data, "caretaker.toml").write_text("[metrics]\ninterval_secs = 1\n[notifications]\nenabled = false\n")
        cls.env = dict(
            os.environ,
            CARETAKER_DATA_DIR=cls.data,
            CARETAKER_KEYCHAIN="off",
            CARETAKER_CLI=str(CLI),
            XDG_CONFIG_HOME=cls.xdg,
            PATH=f"{STANDIN}:{os.environ.get('PATH', '')}",
        )
        cls.driver, cls.driver_proc = open_app(cls.env)

    @classmethod
    def tearDownClass(cls):
        try:
            close_app(cls.driver, cls.driver_proc)
        finally:
            # Whatever the test left running under the stand-in.
            subprocess.run([str(STANDIN / "systemctl"), "--user", "stop", "caretaker.service"], env=cls.env, check=False)
            if not os.environ.get("E2E_KEEP"):
                shutil.rmtree(cls.data, ignore_errors=True)
                shutil.rmtree(cls.xdg, ignore_errors=True)

    def engine_pid(self):
        """The pid of the engine that answers for the data folder, or None."""
        out = subprocess.run([str(CLI), "status", "--json", "--data-dir", self.data], env=self.env, capture_output=True, text=True)
        if out.returncode != 0:
            return None
        st = json.loads(out.stdout)
        return st["engine"]["pid"] if st.get("running") else None

    def service_pid(self):
        try:
            pid = int(Path(self.xdg, "systemd/user/.caretaker.service.pid").read_text())
        except (OSError, ValueError):
            return None
        return pid if comm(pid) == "caretaker" else None

    def window_is_live(self, wait):
        """No banner, and a new CPU sample arrives."""
        d = self.driver
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid=engine-gone]"))
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=tab-overview]")).click()
        before = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=cpu-value][data-ts]")).get_attribute("data-ts")
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=cpu-value]").get_attribute("data-ts") != before)

    def test_the_question_moves_the_engine_into_the_service_and_the_switch_brings_it_back(self):
        d = self.driver
        wait = waiter(d, 60, 0.2)
        unit = Path(self.xdg, "systemd/user/caretaker.service")
        try:
            own = wait.until(lambda _: self.engine_pid())
            self.assertEqual(comm(own), "caretaker-app", "before the question, the app runs its own engine")

            wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=service-yes]")).click()
            wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid=service-question]"))
            self.assertTrue(unit.is_file(), "the unit was installed")
            service = wait.until(lambda _: self.service_pid())
            wait.until(lambda _: self.engine_pid() == service)
            self.window_is_live(wait)

            d.find_element(By.CSS_SELECTOR, "[data-testid=tab-settings]").click()
            box = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=service-switch]"))
            self.assertTrue(box.is_selected())
            self.assertIn("follows a separate engine", d.find_element(By.CSS_SELECTOR, "[data-testid=service-attached]").text)
            # systemd's is-active names no pid (launchctl print does).
            self.assertTrue(d.find_element(By.CSS_SELECTOR, "[data-testid=service-running]").text.startswith("yes"))

            box.click()
            wait.until(lambda d: "runs its own engine" in d.find_element(By.CSS_SELECTOR, "[data-testid=service-attached]").text)
            self.assertFalse(d.find_element(By.CSS_SELECTOR, "[data-testid=service-switch]").is_selected())
            self.assertFalse(unit.exists(), "the unit was removed")
            self.assertEqual(comm(service), "", "the service's engine stopped")
            back = wait.until(lambda _: self.engine_pid())
            self.assertEqual(comm(back), "caretaker-app", "the app runs its own engine again")
            self.window_is_live(wait)
            # Answered: the question does not come back.
            self.assertFalse(d.find_elements(By.CSS_SELECTOR, "[data-testid=service-question]"))
        except Exception:
            OUT.mkdir(parents=True, exist_ok=True)
            d.save_screenshot(str(OUT / "service-switch-last.png"))
            (OUT / "service-switch-last.html").write_text(d.page_source)
            raise


if __name__ == "__main__":
    unittest.main(verbosity=2)
