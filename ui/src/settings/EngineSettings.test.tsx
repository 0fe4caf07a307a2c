import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { Config } from "../bindings/Config";
import type { ConfigSection } from "../bindings/ConfigSection";
import { setPlatform } from "../platform";
import { engineError, TypedFakePlatform } from "../testing/fakePlatform";
import { getPath, setPath } from "./Sections";
import { EngineSettings } from "./EngineSettings";

afterEach(cleanup);

const rule = (warning: number, critical: number) => ({ warning, critical, clear_margin: 5, for_secs: null, average_secs: null, enabled: true });

// Only the sections the page edits are read; the rest of the file travels untouched.
const defaults = {
  alerts: {
    cpu: { ...rule(75, 90), average_secs: 300 }, memory: rule(80, 95), disk: rule(85, 95), check_failures_before_alert: 2, stale_after_intervals: 3,
    repeat_critical_hours: 4, retention_days: 90, absence_alert_minutes: 30, flap_window_minutes: 15, disk_full_days: 14, quiet_hours: null, unusual: true,
  },
  metrics: { interval_secs: 5, raw_retention_hours: 48, minute_retention_days: 30, hour_retention_days: 730, top_processes: 8 },
  logs: { retention_days: 30 },
  maintenance: { enabled: true, daily_at: "03:30", vacuum_free_percent: 20, clear_cache: null, command: null },
  http: { enabled: false, bind: "127.0.0.1:9465", token: "", allowed_hosts: [] },
  alertmanager: { enabled: false, url: "http://127.0.0.1:9093", resend_secs: 60, queue_size: 1000 },
} as unknown as Config;

function engine() {
  let current: Config = structuredClone(defaults);
  const p = new TypedFakePlatform({
    settings: () => current,
    default_settings: () => defaults,
    save_config_section: ({ section }) => {
      if (section.section === "alerts" && section.value.cpu.warning > 100) {
        throw engineError("invalid_config", "alerts.cpu: needs 0 <= warning <= critical <= 100", ["alerts.cpu"]);
      }
      current = { ...current, [section.section]: section.value };
      return current;
    },
    export_settings: () => "# Caretaker settings\n[maintenance]\ndaily_at = \"02:00\"\n",
    import_settings: () => ({ ...current, maintenance: { ...current.maintenance, daily_at: "02:00" } }),
  });
  return p;
}

const saved = (p: TypedFakePlatform) => p.calls.filter((c) => c.cmd === "save_config_section").map((c) => (c.req as { section: ConfigSection }).section);

describe("Settings: the engine's sections", () => {
  it("saves the CPU line and its hold time into the alerts section, and names a refused field", async () => {
    const p = engine();
    setPlatform(p);
    render(<EngineSettings />);
    // Settings and defaults both loaded (the defaults button shows) before anything is typed.
    await screen.findByTestId("alerts-defaults");
    fireEvent.change(screen.getByTestId("alerts-cpu.warning"), { target: { value: "60" } });
    fireEvent.change(screen.getByTestId("alerts-cpu.for_secs"), { target: { value: "120" } });
    fireEvent.change(screen.getByTestId("alerts-quiet-start"), { target: { value: "22:00" } });
    fireEvent.change(screen.getByTestId("alerts-quiet-end"), { target: { value: "07:00" } });
    fireEvent.click(screen.getByTestId("alerts-save"));
    await screen.findByText("Saved and applied.");
    const [first] = saved(p);
    expect(first.section).toBe("alerts");
    expect(first.value).toMatchObject({ cpu: { warning: 60, for_secs: 120, average_secs: 300 }, quiet_hours: { start: "22:00", end: "07:00" } });

    fireEvent.change(screen.getByTestId("alerts-cpu.for_secs"), { target: { value: "" } });
    fireEvent.change(screen.getByTestId("alerts-cpu.warning"), { target: { value: "120" } });
    fireEvent.click(screen.getByTestId("alerts-save"));
    await waitFor(() => expect(screen.getByTestId("alerts-cpu.warning").closest("label")?.className).toBe("invalid"));
    expect(saved(p)[1].value).toMatchObject({ cpu: { warning: 120, for_secs: null } });
  });

  it("restores one section's defaults and leaves the others", async () => {
    const p = engine();
    setPlatform(p);
    render(<EngineSettings />);
    fireEvent.change(await screen.findByTestId("maintenance-daily_at"), { target: { value: "05:00" } });
    fireEvent.click(screen.getByTestId("maintenance-save"));
    await screen.findByText("Saved and applied.");
    fireEvent.click(screen.getByTestId("maintenance-defaults"));
    await waitFor(() => expect(saved(p)).toHaveLength(2));
    expect(saved(p)[1]).toEqual({ section: "maintenance", value: defaults.maintenance });
    await waitFor(() => expect((screen.getByTestId("maintenance-daily_at") as HTMLInputElement).value).toBe("03:30"));
  });

  it("generates an endpoint token, shows the scrape snippet, and moves settings between machines", async () => {
    const p = engine();
    setPlatform(p);
    render(<EngineSettings />);
    fireEvent.click(await screen.findByTestId("http-generate-token"));
    const token = (screen.getByTestId("http-token") as HTMLInputElement).value;
    expect(token).toMatch(/^[0-9a-f]{48}$/);
    expect(screen.getByTestId("http-snippet").textContent).toContain(`credentials: "${token}"`);
    expect(screen.getByTestId("http-snippet").textContent).toContain('targets: ["127.0.0.1:9465"]');

    fireEvent.click(screen.getByTestId("settings-export"));
    await waitFor(() => expect((screen.getByTestId("settings-text") as HTMLTextAreaElement).value).toContain("# Caretaker settings"));
    fireEvent.click(screen.getByTestId("settings-import"));
    await waitFor(() => expect(screen.getByTestId("settings-note").textContent).toContain("Imported and applied"));
    expect(p.calls.find((c) => c.cmd === "import_settings")?.req).toEqual({ text: "# Caretaker settings\n[maintenance]\ndaily_at = \"02:00\"\n" });
    await waitFor(() => expect((screen.getByTestId("maintenance-daily_at") as HTMLInputElement).value).toBe("02:00"));
  });
});

describe("Settings: files and sizes", () => {
  it("saves the exported settings to a chosen file and reads one back into the import box", async () => {
    const p = engine();
    p.answers.save_settings_file = () => "/Users/me/caretaker-settings.toml";
    p.answers.open_settings_file = () => "[maintenance]\ndaily_at = \"04:00\"\n";
    setPlatform(p);
    render(<EngineSettings />);
    fireEvent.click(await screen.findByTestId("settings-save-file"));
    await waitFor(() => expect(screen.getByTestId("settings-note").textContent).toBe("Saved to /Users/me/caretaker-settings.toml."));
    expect(p.calls.find((c) => c.cmd === "save_settings_file")?.req).toEqual({ text: "# Caretaker settings\n[maintenance]\ndaily_at = \"02:00\"\n" });
    fireEvent.click(screen.getByTestId("settings-open-file"));
    await waitFor(() => expect((screen.getByTestId("settings-text") as HTMLTextAreaElement).value).toBe("[maintenance]\ndaily_at = \"04:00\"\n"));
    expect(p.count("import_settings")).toBe(0);
  });

  it("estimates the database size from the values being edited, before they are saved", async () => {
    const p = engine();
    p.answers.storage_estimate = ({ metrics }) => ({
      current_bytes: 40 * 1024 * 1024, estimated_bytes: (metrics.interval_secs === 1 ? 500 : 100) * 1024 * 1024,
      estimated_metrics_bytes: 0, series: 24, measured: true,
    });
    setPlatform(p);
    render(<EngineSettings />);
    const note = await screen.findByTestId("storage-estimate");
    expect(note.textContent).toContain("Database now: 40 MiB");
    expect(note.textContent).toContain("about 100 MiB (24 series sampled in the last hour).");
    fireEvent.change(screen.getByTestId("metrics-interval_secs"), { target: { value: "1" } });
    await waitFor(() => expect(screen.getByTestId("storage-estimate").textContent).toContain("about 500 MiB"));
    expect(p.count("save_config_section")).toBe(0);
    fireEvent.change(screen.getByTestId("metrics-interval_secs"), { target: { value: "" } });
    await waitFor(() => expect(screen.queryByTestId("storage-estimate")).toBeNull());
  });
});

describe("Settings: maintenance tasks, Alertmanager, the log", () => {
  it("adds both optional tasks, previews them without saving, then saves them in the maintenance section", async () => {
    const p = engine();
    p.answers.pick_folder = () => "/Users/me/Library/Caches/app";
    p.answers.preview_maintenance = ({ config }) => ({
      clear_cache: { path: config.clear_cache?.path ?? "", older_than_days: 14, files: 3, bytes: 3072, oldest_age_secs: 90 * 86400, first_paths: ["/Users/me/Library/Caches/app/a"], error: null },
      clear_cache_refused: null,
      command: config.command?.argv ?? [],
      summary: ["Clear the cache: would delete 3 files.", "Run a command."],
    });
    setPlatform(p);
    render(<EngineSettings />);
    fireEvent.click(await screen.findByTestId("maintenance-cache-on"));
    fireEvent.click(screen.getByTestId("maintenance-cache-pick"));
    await waitFor(() => expect((screen.getByTestId("maintenance-cache-path") as HTMLInputElement).value).toBe("/Users/me/Library/Caches/app"));
    fireEvent.change(screen.getByTestId("maintenance-cache-days"), { target: { value: "14" } });
    fireEvent.click(screen.getByTestId("maintenance-command-on"));
    fireEvent.change(screen.getByTestId("maintenance-command-argv"), { target: { value: "/opt/homebrew/bin/brew\ncleanup\n" } });
    fireEvent.click(screen.getByTestId("maintenance-preview"));
    const result = await screen.findByTestId("maintenance-preview-result");
    expect(result.textContent).toContain("would delete 3 files");
    expect(result.textContent).toContain('"/opt/homebrew/bin/brew" "cleanup"');
    expect(p.count("save_config_section")).toBe(0);
    fireEvent.click(screen.getByTestId("maintenance-save"));
    await waitFor(() => expect(saved(p)).toHaveLength(1));
    expect(saved(p)[0]).toEqual({
      section: "maintenance",
      value: { ...defaults.maintenance, clear_cache: { path: "/Users/me/Library/Caches/app", older_than_days: 14 }, command: { argv: ["/opt/homebrew/bin/brew", "cleanup"], timeout_secs: 600 } },
    });
  });

  it("sends a test alert to the Alertmanager being edited and shows a refusal", async () => {
    const p = engine();
    let refuse = false;
    p.answers.test_alertmanager = ({ config }) => {
      if (refuse) throw engineError("invalid_input", `the Alertmanager at ${config.url}/ did not take the test alert: connection refused`);
      return `The Alertmanager at ${config.url}/ accepted a test alert`;
    };
    setPlatform(p);
    render(<EngineSettings />);
    fireEvent.change(await screen.findByTestId("alertmanager-url"), { target: { value: "http://am.local:9093" } });
    fireEvent.click(screen.getByTestId("alertmanager-test"));
    expect((await screen.findByTestId("alertmanager-test-result")).textContent).toContain("http://am.local:9093/ accepted");
    refuse = true;
    fireEvent.click(screen.getByTestId("alertmanager-test"));
    expect((await screen.findByTestId("alertmanager-test-error")).textContent).toContain("connection refused");
    expect(screen.queryByTestId("alertmanager-test-result")).toBeNull();
  });

  it("keeps the log for the days chosen", async () => {
    const p = engine();
    setPlatform(p);
    render(<EngineSettings />);
    fireEvent.change(await screen.findByTestId("logs-retention_days"), { target: { value: "60" } });
    fireEvent.click(screen.getByTestId("logs-save"));
    await waitFor(() => expect(saved(p)).toEqual([{ section: "logs", value: { retention_days: 60 } }]));
  });
});

describe("paths into a section", () => {
  it("reads and copies nested values without changing the original", () => {
    const o = { cpu: { warning: 75 }, flap: 15 };
    const n = setPath(o, "cpu.warning", 60);
    expect(getPath(n, "cpu.warning")).toBe(60);
    expect(getPath(o, "cpu.warning")).toBe(75);
    expect(setPath(o, "quiet_hours", null)).toEqual({ ...o, quiet_hours: null });
  });
});
