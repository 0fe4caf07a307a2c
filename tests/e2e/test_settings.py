"""Settings, driven through the window: notification channels added from the app (an email
channel to a real SMTP server, Debian's python3-aiosmtpd, and a webhook to a loopback receiver),
each sent a test through the engine's outbox and checked where it arrived.

Run like test_overview.py (under Xvfb and a D-Bus session); `cargo xtask test` does that.
"""

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from session import close_app, open_app
from test_overview import OUT, free_port, waiter

# aiosmtpd comes from Debian's package, so Debian's interpreter runs the server; it writes each
# message it receives as one JSON line on stdout.
SMTP_SERVER = r"""
import asyncio, json, sys
from aiosmtpd.controller import Controller
class Keep:
    async def handle_DATA(self, server, session, envelope):
        print(json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos, "data": envelope.content.decode("utf-8", "replace")}), flush=True)
        return "250 OK"
c = Controller(Keep(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
sys.stdin.read()
c.stop()
"""


class Hooks(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Hooks.received.append((self.path, body.decode("utf-8", "replace")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


class SettingsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.data = tempfile.mkdtemp(prefix="caretaker-settings-")
        Path(cls.data, "caretaker.toml").write_text("# kept as written\n[notifications]\nenabled = false\n")
        cls.smtp_port = free_port()
        cls.smtp = subprocess.Popen(["/usr/bin/python3", "-c", SMTP_SERVER, str(cls.smtp_port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if cls.smtp.stdout.readline().strip() != "ready":
            raise RuntimeError("the SMTP server did not start (apt install python3-aiosmtpd)")
        cls.mail: list = []
        threading.Thread(target=lambda: [cls.mail.append(json.loads(line)) for line in cls.smtp.stdout], daemon=True).start()
        cls.hooks = ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
        threading.Thread(target=cls.hooks.serve_forever, daemon=True).start()

        # Test-only switches (debug builds): the native confirmation answers yes, and the native
        # folder dialog answers the first line of `pick` (nobody can click either under Xvfb).
        cls.pick = Path(cls.data + "-pick")
        cls.pick.write_text("")
        env = dict(os.environ, CARETAKER_DATA_DIR=cls.data, CARETAKER_KEYCHAIN="off", CARETAKER_TEST_CONFIRM="yes", CARETAKER_TEST_PICK=str(cls.pick))
        cls.driver, cls.driver_proc = open_app(env)

    @classmethod
    def tearDownClass(cls):
        try:
            close_app(cls.driver, cls.driver_proc)
        finally:
            cls.hooks.shutdown()
            cls.smtp.stdin.close()
            cls.smtp.terminate()
            cls.smtp.wait(10)
            cls.smtp.stdout.close()
            cls.hooks.server_close()
            shutil.rmtree(cls.data, ignore_errors=True)
            cls.pick.unlink(missing_ok=True)

    def click(self, el):
        """Clicks `el` at the middle of the view: after another test scrolled the page, the sticky
        top bar can sit over an element at the top edge and take the click."""
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
        el.click()

    def add_channel(self, fields: dict, kind: str, selects: dict | None = None):
        d = self.driver
        wait = waiter(d, 40, 0.2)
        self.click(wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=channel-add]")))
        Select(wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=channel-kind]"))).select_by_value(kind)
        for testid, value in (selects or {}).items():
            Select(d.find_element(By.CSS_SELECTOR, f"[data-testid={testid}]")).select_by_value(value)
        for testid, value in fields.items():
            d.find_element(By.CSS_SELECTOR, f"[data-testid={testid}]").send_keys(value)
        self.click(d.find_element(By.CSS_SELECTOR, "[data-testid=channel-save]"))
        wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, "[data-testid=channel-editor]"))

    def send_test(self, name: str) -> str:
        d = self.driver
        wait = waiter(d, 60, 0.2)
        row = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f"[data-testid=channel-{name}]"))
        self.click(row.find_element(By.CSS_SELECTOR, "[data-testid=channel-test]"))
        return wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f"[data-testid=channel-{name}] [data-testid=channel-test-result]")).text

    def test_email_and_webhook_channels_added_from_the_app_deliver_a_test(self):
        d = self.driver
        try:
            waiter(d, 60, 0.2).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=tab-settings]")).click()
            self.add_channel(
                {"channel-name": "Mail", "channel-host": "127.0.0.1", "channel-port": str(self.smtp_port), "channel-from": "caretaker@example.org", "channel-to": "owner@example.org"},
                "email",
                {"channel-security": "plain"},
            )
            self.add_channel({"channel-name": "Hook", "channel-url": f"http://127.0.0.1:{self.hooks.server_port}/hook"}, "webhook")

            self.assertEqual(self.send_test("Mail"), "Test delivered.")
            # Alerts the other tests open may arrive too: only the test message counts here.
            tests = [m for m in self.mail if "Test message from Caretaker" in m["data"]]
            self.assertEqual(len(tests), 1, self.mail)
            self.assertEqual(tests[0]["to"], ["owner@example.org"])

            self.assertEqual(self.send_test("Hook"), "Test delivered.")
            hooks = [(path, json.loads(body)) for path, body in Hooks.received]
            tests = [(path, body) for path, body in hooks if body.get("transition") == "test"]
            self.assertEqual(len(tests), 1, hooks)
            self.assertEqual(tests[0][0], "/hook")
            self.assertIn("host", tests[0][1])

            # Saved where a person would look, their own note kept, no secret in it.
            text = Path(self.data, "caretaker.toml").read_text()
            self.assertIn("# kept as written", text)
            self.assertIn('name = "Mail"', text)
            self.assertIn('name = "Hook"', text)
            row = d.find_element(By.CSS_SELECTOR, "[data-testid=channel-Mail] [data-testid=channel-delivery]").text
            self.assertIn("Last delivered", row)
        except Exception:
            OUT.mkdir(parents=True, exist_ok=True)
            d.save_screenshot(str(OUT / "settings-last.png"))
            (OUT / "settings-last.html").write_text(d.page_source)
            raise

    def set_field(self, testid: str, value: str):
        field = self.driver.find_element(By.CSS_SELECTOR, f"[data-testid='{testid}']")
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(Keys.DELETE)
        field.send_keys(value)

    def test_cpu_line_and_hold_changed_from_settings_judge_the_next_sample(self):
        d = self.driver
        try:
            wait = waiter(d, 60, 0.2)
            wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=tab-settings]")).click()
            wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid='alerts-cpu.warning']"))
            # A line every sample is over, judged on the latest value, held for no time.
            self.set_field("alerts-cpu.warning", "0")
            self.set_field("alerts-cpu.average_secs", "0")
            self.set_field("alerts-cpu.for_secs", "0")
            d.find_element(By.CSS_SELECTOR, "[data-testid=alerts-save]").click()
            wait.until(lambda d: "Saved and applied." in d.find_element(By.CSS_SELECTOR, "[data-testid=section-alerts]").text)
            text = Path(self.data, "caretaker.toml").read_text()
            self.assertIn("# kept as written", text)
            self.assertIn("[alerts.cpu]", text)
            self.assertIn("warning = 0.0", text)

            # The next sample (every 5 s) is judged by the new line: no restart.
            d.find_element(By.CSS_SELECTOR, "[data-testid=tab-alerts]").click()
            title = waiter(d, 40, 0.5).until(
                lambda d: next((e.text for e in d.find_elements(By.CSS_SELECTOR, ".alert .alert-title") if e.text.startswith("CPU")), None)
            )
            self.assertIn("CPU", title)

            # Back to the defaults for whatever runs next.
            d.find_element(By.CSS_SELECTOR, "[data-testid=tab-settings]").click()
            wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=alerts-defaults]")).click()
            wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid='alerts-cpu.warning']").get_attribute("value") == "75")
        except Exception:
            OUT.mkdir(parents=True, exist_ok=True)
            d.save_screenshot(str(OUT / "settings-cpu-last.png"))
            (OUT / "settings-cpu-last.html").write_text(d.page_source)
            raise

    def test_a_healing_action_added_from_the_editor_is_dry_run_and_saved(self):
        d = self.driver
        cache = Path(tempfile.mkdtemp(prefix="caretaker-e2e-cache-"))
        try:
            wait = waiter(d, 60, 0.2)
            month_ago = time.time() - 40 * 86400
            for name in ("a.tmp", "b.tmp", "c.tmp"):
                (cache / name).write_bytes(b"x" * 1000)
                os.utime(cache / name, (month_ago, month_ago))
            (cache / "fresh.tmp").write_bytes(b"y")
            self.click(wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=tab-healing]")))
            self.click(wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=add-action]")))
            wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=form-new]"))
            self.set_field("new-id", "clear-cache")
            self.set_field("new-name", "Clear the old cache")
            Select(d.find_element(By.CSS_SELECTOR, "[data-testid=new-kind]")).select_by_value("clear_folder")
            # The folder comes from the native folder dialog (answered by the test switch).
            self.pick.write_text(f"{cache}\n")
            self.click(wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid='new-clear_folder.path-pick']")))
            wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid='new-clear_folder.path']").get_attribute("value") == str(cache))
            self.set_field("new-clear_folder.older_than_days", "30")
            # Attached to the disk alert, the remedy a full disk calls for.
            self.set_field("new-on_alerts", "disk")

            # Dry run: what it would delete, and nothing deleted.
            self.click(d.find_element(By.CSS_SELECTOR, "[data-testid=new-dry-run]"))
            folder = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=dry-run-folder]"))
            self.assertIn("3 files", folder.text)
            self.assertIn(str(cache), folder.text)
            self.assertEqual(len(list(cache.iterdir())), 4, "a dry run deletes nothing")

            # Saved: listed with its guard rails, and written into caretaker.toml.
            self.click(d.find_element(By.CSS_SELECTOR, "[data-testid=new-save]"))
            tile = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=action-clear-cache]"))
            self.assertIn("Clear the old cache", tile.text)
            text = Path(self.data, "caretaker.toml").read_text()
            self.assertIn('id = "clear-cache"', text)
            self.assertIn("# kept as written", text)
            self.assertEqual(len(list(cache.iterdir())), 4, "saving runs nothing")
        except Exception:
            OUT.mkdir(parents=True, exist_ok=True)
            d.save_screenshot(str(OUT / "settings-healing-last.png"))
            (OUT / "settings-healing-last.html").write_text(d.page_source)
            raise
        finally:
            shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
