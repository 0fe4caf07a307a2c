import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { Alert } from "../bindings/Alert";
import { setPlatform } from "../platform";
import { engineError, TypedFakePlatform } from "../testing/fakePlatform";
import { ConfigBanner, sectionsOf } from "./ConfigBanner";

afterEach(cleanup);

const refused: Alert = {
  id: 3, rule: "config", subject: "caretaker.toml", alert_type: "config_invalid", severity: "warning", status: "active",
  title: "caretaker.toml has mistakes; Caretaker keeps running with the settings it had before this change",
  message: "checks.list[0].timeout_secs: must not exceed interval_secs (5); alerts.cpu.warning: must be 1-100. Fix the file at /data/caretaker.toml",
  details: { path: "/data/caretaker.toml", fields: ["checks.list[0].timeout_secs", "alerts.cpu.warning", "alerts.cpu.critical"], last_good: false },
  created_at: Date.now(), acknowledged_at: null, resolved_at: null, snoozed_until: null, last_notified_at: null,
};

describe("ConfigBanner", () => {
  it("names each bad table once, from the fields' paths", () => {
    expect(sectionsOf(refused.details.fields)).toEqual(["checks", "alerts"]);
    expect(sectionsOf(["caretaker.toml"])).toEqual([]);
    expect(sectionsOf(undefined)).toEqual([]);
  });

  it("shows nothing while the file loads", () => {
    render(<ConfigBanner alerts={[{ ...refused, status: "resolved" }]} />);
    expect(screen.queryByTestId("config-banner")).toBeNull();
  });

  it("resets a section only after the person confirms, and says what is still wrong", async () => {
    const p = new TypedFakePlatform({ reset_file_section: () => ["checks.list[0].timeout_secs: must not exceed interval_secs (5)"] });
    setPlatform(p);
    render(<ConfigBanner alerts={[refused]} />);
    expect(screen.getByText(refused.message)).toBeTruthy();
    fireEvent.click(screen.getByTestId("reset-alerts"));
    expect(p.count("reset_file_section")).toBe(0);
    expect(screen.getByTestId("config-confirm").textContent).toContain("caretaker.before-repair.toml");
    fireEvent.click(screen.getByRole("button", { name: "Yes, reset [alerts]" }));
    await waitFor(() => expect(p.count("reset_file_section")).toBe(1));
    expect(p.calls.find((c) => c.cmd === "reset_file_section")?.req).toEqual({ section: "alerts" });
    expect((await screen.findByTestId("config-still-wrong")).textContent).toContain("checks.list[0].timeout_secs");
    expect(screen.queryByTestId("config-confirm")).toBeNull();
  });

  it("opens the file in the editor, and shows the engine's refusal of a restore", async () => {
    const p = new TypedFakePlatform({
      open_config_file: () => null,
      restore_last_good_config: () => {
        throw engineError("not_found", "there is no last good copy yet");
      },
    });
    setPlatform(p);
    render(<ConfigBanner alerts={[refused]} />);
    fireEvent.click(screen.getByRole("button", { name: "Open in editor" }));
    await waitFor(() => expect(p.count("open_config_file")).toBe(1));
    fireEvent.click(screen.getByRole("button", { name: "Put back the last good file" }));
    fireEvent.click(screen.getByRole("button", { name: "Put it back" }));
    expect(await screen.findByText(/no last good copy yet/)).toBeTruthy();
  });
});
