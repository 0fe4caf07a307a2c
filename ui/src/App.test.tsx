import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Alert } from "./bindings/Alert";
import type { ErrorPayload } from "./bindings/ErrorPayload";
import type { Event } from "./bindings/Event";
import type { HealingRecord } from "./bindings/HealingRecord";
import type { DetectorState } from "./bindings/DetectorState";
import type { PlanStatus } from "./bindings/PlanStatus";
import type { SnapshotInfo } from "./bindings/SnapshotInfo";
import { App } from "./App";
import { setPlatform, type CommandHandlers, type Commands, type EngineConnection, type Platform } from "./platform";
import { fakeSample, fakeSnapshot } from "./platform/preview";

// uPlot draws on a canvas, which jsdom has not; the chart's data path is tested in series.test.ts.
vi.mock("uplot", () => ({
  default: class {
    setData() {}
    setSize() {}
    destroy() {}
  },
}));

class FakePlatform implements Platform {
  listeners = new Set<(e: Event) => void>();
  calls: string[] = [];
  requests: [string, unknown][] = [];
  approved = false;
  snapshotError: unknown = null;
  plans: PlanStatus[] = [];
  // Each answer is typed by the command contract, so a shape change fails here, not in e2e.
  answers: CommandHandlers = {
    acknowledge_alert: () => ({ ...alert, status: "acknowledged" }),
    list_alerts: () => [],
    list_checks: () => [],
    pending_escalations: () => (this.approved ? [] : [escalation]),
    healing_actions: () => [],
    healing_overview: () => ({ max_actions_per_hour: 5, runs_last_hour: 0, actions: [] }),
    healing_log: () => [],
    approve_escalation: () => {
      this.approved = true;
      return { ...escalation, decision: "approved_by_user" };
    },
    maintenance_status: () => ({ running: null, last_run: null, next_run_ms: null, tasks: [{ id: "a", name: "Task A", description: "", optional: false }, { id: "b", name: "Task B", description: "", optional: false }] }),
    search_logs: () => [],
    list_detectors: () => [stalled],
    save_detector: ({ detector: d }) => {
      if (!d.check?.name) throw { kind: "invalid_config", code: "invalid_config", message: "detectors[1].check.name: there is no check named \"\"", fields: ["detectors[1].check.name"] } satisfies ErrorPayload;
      // Before its first evaluation the engine sends `evidence: null`.
      return [stalled, { ...stalled, config: d, firing: false, summary: "not evaluated yet", evidence: null, alert_id: null }];
    },
    delete_detector: () => [],
    backups_overview: () => ({ plans: this.plans, job: null, history: [], macos: false, time_machine: null }),
    suggest_backup_password: () => "abcde-fghij-kmnpq",
    create_backup_plan: ({ plan }) => {
      this.plans = [{ ...planStatus, plan: { ...plan, host: "mini" } }];
      return { password_stored_in: "keychain", existing_repository: false };
    },
    backup_now: () => 41,
    backup_snapshots: () => [snapshotInfo],
    restore_backup: ({ onConflict }) => {
      if (onConflict === null) return { outcome: "conflict", report: { existing: 2, examples: ["/r/a.txt", "/r/b.txt"] } };
      return { outcome: "done", summary: { files_restored: 3, files_skipped: 2, files_renamed: 0, files_overwritten: 0, bytes_restored: 2048, safety_snapshot: null } };
    },
    runbook: () => "# Service down\n\n**Look first** at the log.",
    snapshot: () => {
      if (this.snapshotError) throw this.snapshotError;
      return fakeSnapshot(Date.now());
    },
    query_series: ({ query: q }) => ({ resolution: q.range_secs > 3600 ? "minute" : "raw", step_ms: 5000, since_ms: 0, until_ms: 1, series: [] }),
  };
  async call<K extends keyof Commands>(cmd: K, req: Commands[K]["req"]): Promise<Commands[K]["res"]> {
    this.calls.push(cmd);
    this.requests.push([cmd, req]);
    const answer = this.answers[cmd];
    if (!answer) throw new Error(`the fake platform has no answer for ${cmd}`);
    return answer(req);
  }
  async onEvent(cb: (e: Event) => void) {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
  resync: (() => void) | null = null;
  async onResync(cb: () => void) {
    this.resync = cb;
    return () => {};
  }
  connection: ((c: EngineConnection) => void) | null = null;
  async onConnection(cb: (c: EngineConnection) => void) {
    this.connection = cb;
    return () => {};
  }
  navigate: ((p: string) => void) | null = null;
  async onNavigate(cb: (p: string) => void) {
    this.navigate = cb;
    return () => {};
  }
  emit(e: Event) {
    this.listeners.forEach((cb) => cb(e));
  }
}

const alert: Alert = {
  id: 7, rule: "check", subject: "Web", alert_type: "service_down", severity: "critical", status: "active",
  title: "Web is down on mini", message: "Web is down: connection refused", details: {}, created_at: Date.now() - 60000,
  acknowledged_at: null, resolved_at: null, snoozed_until: null, last_notified_at: null,
};

const stalled: DetectorState = {
  config: { name: "Queue not moving", enabled: true, severity: "warning", check: { name: "Queue", field: "value" }, stalled: { for_minutes: 5, min_samples: 3 } },
  kind: "stalled", source: "check Queue (value)", firing: true, summary: "stuck at 42 for 8 min (should move within 5 min)",
  evidence: { value: 42, unchanged_minutes: 8, for_minutes: 5 }, evaluated_at: Date.now(), alert_id: 12, error: null,
};

const planStatus: PlanStatus = {
  plan: { name: "Docs", sources: ["/Users/me/Documents"], excludes: [], default_excludes: true, exclude_build_folders: false, repository: "/Volumes/B/repo", schedule: "daily 02:00", keep: { last: 3, hourly: 24, daily: 7, weekly: 4, monthly: 12 }, host: "mini", include_caretaker_data: true, upload_limit_kib: 0, pause_on_battery: true, pause_on_metered: true },
  last_run: null, last_success_ms: null, last_check: null, next_run_ms: null, repository_bytes: null, health: "never", health_message: "No backup yet", password: "keychain", paused: null,
};

const snapshotInfo: SnapshotInfo = { id: "a".repeat(64), short_id: "aaaaaaaa", time_ms: Date.now() - 60000, host: "mini", paths: ["/Users/me/Documents"], tags: [], label: "Docs", files: 5, bytes: 4096 };

const escalation: HealingRecord = {
  id: 3, alert_id: 7, action_id: "restart-web", subject: "Web", mode: "escalate", decision: "escalated", argv: ["launchctl", "kickstart", "-k", "gui/501/web"],
  exit_code: null, stdout: null, stderr: null, created_at: Date.now(), started_at: null, ended_at: null, outcome: null, healed: null, finding_id: null,
};

globalThis.ResizeObserver ??= class {
  observe() {}
  disconnect() {}
  unobserve() {}
} as unknown as typeof ResizeObserver;

afterEach(() => {
  window.location.hash = "";
  cleanup();
  vi.restoreAllMocks();
});

describe("App", () => {
  it("paints from the snapshot, then follows events", async () => {
    const p = new FakePlatform();
    setPlatform(p);
    render(<App />);
    await waitFor(() => expect(screen.getByTestId("cpu-value").textContent).toBe("12 %"));
    expect(screen.getByText("preview-mac-mini")).toBeTruthy();
    expect(screen.getByTestId("capability-backups").textContent).not.toContain("Coming soon");

    const s = fakeSample(Date.now(), 42.5);
    act(() => p.emit({ type: "host_sample", sample: s, points: [] }));
    await waitFor(() => expect(screen.getByTestId("cpu-value").textContent).toBe("43 %"));
    expect(screen.getByTestId("cpu-value").getAttribute("data-ts")).toBe(String(s.ts_ms));
    // Events replace polling: only one snapshot call was made.
    expect(p.calls.filter((c) => c === "snapshot")).toHaveLength(1);
  });

  it("shows a new alert, and acknowledges it from the Alerts page", async () => {
    const p = new FakePlatform();
    setPlatform(p);
    render(<App />);
    await waitFor(() => expect(screen.getByTestId("overview-no-alerts")).toBeTruthy());
    act(() => p.emit({ type: "alert_changed", alert }));
    await waitFor(() => expect(screen.getByTestId("overview-alert").textContent).toContain("Web is down on mini"));
    expect(screen.getByTestId("tab-alerts").textContent).toBe("Alerts1");

    act(() => p.navigate?.("alerts"));
    await waitFor(() => expect(screen.getByTestId("alert-7")).toBeTruthy());
    act(() => screen.getByTestId("ack").click());
    await waitFor(() => expect(p.requests.some(([c, r]) => c === "acknowledge_alert" && (r as { id: number }).id === 7)).toBe(true));
    act(() => p.emit({ type: "alert_changed", alert: { ...alert, status: "acknowledged", acknowledged_at: Date.now() } }));
    await waitFor(() => expect(screen.getByTestId("alert-status").textContent).toBe("acknowledged"));
    expect(screen.queryByTestId("alert-flaps")).toBeNull();
    // The same incident came back within the flap window: said on the alert, not as a new one.
    act(() => p.emit({ type: "alert_changed", alert: { ...alert, status: "active", acknowledged_at: null, flap_count: 3 } }));
    await waitFor(() => expect(screen.getByTestId("alert-flaps").textContent).toBe("flapping · came back 3×"));
    act(() => screen.getByText("Runbook").click());
    await waitFor(() => expect(screen.getByTestId("runbook").textContent).toContain("Look first"));

    act(() => p.emit({ type: "alert_changed", alert: { ...alert, status: "resolved", resolved_at: Date.now() } }));
    await waitFor(() => expect(screen.getByTestId("no-alerts")).toBeTruthy());
  });

  it("opens on the alert a clicked notification is about, whether the window was open or built for it", async () => {
    const p = new FakePlatform();
    setPlatform(p);
    // Built for the click: the window's address says where to start.
    window.location.hash = "#alerts/7";
    const first = render(<App />);
    await waitFor(() => expect(screen.getByTestId("no-alerts")).toBeTruthy());
    act(() => p.emit({ type: "alert_changed", alert }));
    await waitFor(() => expect(screen.getByTestId("alert-7").className).toContain("focused"));
    expect(screen.getByTestId("tab-alerts").className).toContain("active");
    await waitFor(() => expect(screen.getByTestId("runbook")).toBeTruthy());
    first.unmount();
    window.location.hash = "";

    // Already open on another page: told to go there.
    render(<App />);
    await waitFor(() => expect(screen.getByTestId("overview-no-alerts")).toBeTruthy());
    act(() => p.emit({ type: "alert_changed", alert }));
    expect(screen.getByTestId("tab-overview").className).toContain("active");
    act(() => p.navigate?.("alerts/7"));
    await waitFor(() => expect(screen.getByTestId("alert-7").className).toContain("focused"));
    act(() => p.navigate?.("alerts"));
    await waitFor(() => expect(screen.getByTestId("alert-7").className).not.toContain("focused"));
  });

  it("lists a pending escalation and runs it only when the person says so", async () => {
    const p = new FakePlatform();
    setPlatform(p);
    render(<App />);
    await waitFor(() => expect(screen.getByTestId("tab-healing")).toBeTruthy());
    act(() => screen.getByTestId("tab-healing").click());
    await waitFor(() => expect(screen.getByTestId("escalation-3").textContent).toContain("launchctl kickstart -k gui/501/web"));
    expect(p.calls).not.toContain("approve_escalation");
    act(() => screen.getByTestId("run-it").click());
    await waitFor(() => expect(p.requests.some(([c, r]) => c === "approve_escalation" && (r as { id: number }).id === 3)).toBe(true));
    await waitFor(() => expect(screen.getByTestId("no-escalations")).toBeTruthy());
  });

  it("applies every event of a burst, not just the last one", async () => {
    const p = new FakePlatform();
    setPlatform(p);
    render(<App />);
    await waitFor(() => expect(screen.getByTestId("tab-monitor")).toBeTruthy());
    act(() => screen.getByTestId("tab-monitor").click());
    await waitFor(() => expect(screen.getByTestId("task-a")).toBeTruthy());
    const progress = (task_id: string, status: "started" | "completed" | "skipped", index: number): Event => ({ type: "maintenance_progress", run_id: 1, task_id, task_name: task_id, index, total: 2, status, message: status });
    act(() => {
      // All within one render: a single "last event" state would keep only the final one.
      p.emit(progress("a", "started", 1));
      p.emit(progress("a", "completed", 1));
      p.emit(progress("b", "started", 2));
      p.emit(progress("b", "skipped", 2));
    });
    await waitFor(() => expect(screen.getByTestId("task-a").getAttribute("data-status")).toBe("completed"));
    expect(screen.getByTestId("task-b").getAttribute("data-status")).toBe("skipped");
  });

  it("lists detectors with their evidence, follows their events, and adds, refuses and removes one", async () => {
    const p = new FakePlatform();
    setPlatform(p);
    render(<App />);
    await waitFor(() => expect(screen.getByTestId("tab-detectors")).toBeTruthy());
    act(() => screen.getByTestId("tab-detectors").click());
    const card = await waitFor(() => screen.getByTestId("detector-Queue not moving"));
    expect(card.querySelector("[data-testid=detector-state]")?.textContent).toBe("firing");
    expect(card.querySelector("[data-testid=detector-evidence]")?.textContent).toContain("unchanged minutes8");
    expect(card.textContent).toContain("alert #12");

    // The engine says it cleared: the page follows the event, no polling.
    act(() => p.emit({ type: "detectors", detectors: [{ ...stalled, firing: false, summary: "17 for 0 min", alert_id: null }] }));
    await waitFor(() => expect(screen.getByTestId("detector-summary").textContent).toBe("17 for 0 min"));
    expect(screen.getByTestId("detector-state").textContent).toBe("ok");

    // Adding one: the engine's refusal is shown with the field it names, then a fixed one saves.
    act(() => screen.getByTestId("add-detector").click());
    fireEvent.change(screen.getByTestId("detector-name"), { target: { value: "Queue slow" } });
    fireEvent.change(screen.getByTestId("detector-rule"), { target: { value: "above_normal" } });
    fireEvent.change(screen.getByTestId("detector-factor"), { target: { value: "4" } });
    act(() => screen.getByTestId("detector-save").click());
    await waitFor(() => expect(screen.getByTestId("detector-error").textContent).toContain("detectors[1].check.name"));
    fireEvent.change(screen.getByTestId("detector-check"), { target: { value: "Queue" } });
    act(() => screen.getByTestId("detector-save").click());
    await waitFor(() => expect(screen.getByTestId("detector-Queue slow")).toBeTruthy());
    const saved = p.requests.filter(([c]) => c === "save_detector").pop()?.[1] as { original: null; detector: DetectorState["config"] };
    expect(saved.original).toBeNull();
    expect(saved.detector.above_normal).toEqual({ factor: 4, baseline_minutes: 60, floor: 1, min_samples: 10, sustain: 3 });
    expect(saved.detector.stalled).toBeNull();

    act(() => screen.getAllByTestId("delete-detector")[0].click());
    await waitFor(() => expect(screen.getByTestId("no-detectors")).toBeTruthy());
  });

  it("creates a plan only once the password is saved, shows progress honestly, and asks before replacing files", async () => {
    const p = new FakePlatform();
    setPlatform(p);
    render(<App />);
    await waitFor(() => expect(screen.getByTestId("tab-backups")).toBeTruthy());
    act(() => screen.getByTestId("tab-backups").click());
    await waitFor(() => expect((screen.getByTestId("wizard-password") as HTMLInputElement).value).toBe("abcde-fghij-kmnpq"));
    fireEvent.change(screen.getByTestId("wizard-sources"), { target: { value: "/Users/me/Documents\n\n/Users/me/Pictures " } });
    fireEvent.change(screen.getByTestId("wizard-repository"), { target: { value: "/Volumes/B/repo" } });
    expect((screen.getByTestId("wizard-create") as HTMLButtonElement).disabled).toBe(true);
    act(() => screen.getByTestId("wizard-saved").click());
    act(() => screen.getByTestId("wizard-create").click());
    await waitFor(() => expect(screen.getByTestId("plan-card")).toBeTruthy());
    const created = p.requests.find(([c]) => c === "create_backup_plan")?.[1] as { plan: PlanStatus["plan"]; password: string };
    expect(created.plan.sources).toEqual(["/Users/me/Documents", "/Users/me/Pictures"]);
    expect(created.password).toBe("abcde-fghij-kmnpq");

    // Progress before the total is known says so; then bytes of a total.
    const job = { run_id: 41, plan: "Docs", kind: "backup" as const, started_ms: Date.now(), progress: { phase: "backing up", bytes_done: 1024, bytes_total: null, files_done: 0, files_total: null } };
    act(() => p.emit({ type: "backup_progress", job }));
    await waitFor(() => expect(screen.getByTestId("backup-progress").textContent).toContain("total not known yet"));
    expect((screen.getByTestId("backup-now") as HTMLButtonElement).disabled).toBe(true);
    act(() => p.emit({ type: "backup_progress", job: { ...job, progress: { ...job.progress, bytes_done: 2 * 1048576, bytes_total: 4 * 1048576 } } }));
    await waitFor(() => expect(screen.getByTestId("backup-progress").textContent).toContain("of 4.0 MiB"));

    // Restore: the first answer is a conflict; nothing is replaced until a choice is made.
    act(() => screen.getByTestId("restore-open").click());
    await waitFor(() => expect(screen.getByTestId("snapshot-row")).toBeTruthy());
    act(() => screen.getByText("Restore all…").click());
    fireEvent.change(screen.getByTestId("restore-dest"), { target: { value: "/r" } });
    act(() => screen.getByTestId("restore-go").click());
    await waitFor(() => expect(screen.getByTestId("restore-conflict").textContent).toContain("2 file(s) already exist"));
    act(() => screen.getByTestId("conflict-skip").click());
    await waitFor(() => expect(screen.getByTestId("restore-done").textContent).toContain("skipped 2"));
    const restores = p.requests.filter(([c]) => c === "restore_backup").map(([, r]) => (r as { onConflict: string | null }).onConflict);
    expect(restores).toEqual([null, "skip"]);
  });

  it("says when the engine goes away, and follows it again once it is back, without a reload", async () => {
    const p = new FakePlatform();
    setPlatform(p);
    render(<App />);
    await waitFor(() => expect(screen.getByTestId("cpu-value").textContent).toBe("12 %"));
    act(() => p.connection?.({ connected: false, message: "The Caretaker engine stopped." }));
    await waitFor(() => expect(screen.getByTestId("engine-gone").textContent).toContain("The Caretaker engine stopped."));
    // Back: the shell says so and asks for a fresh snapshot; events flow again.
    act(() => {
      p.connection?.({ connected: true, message: null });
      p.resync?.();
    });
    await waitFor(() => expect(screen.queryByTestId("engine-gone")).toBeNull());
    await waitFor(() => expect(p.calls.filter((c) => c === "snapshot")).toHaveLength(2));
    act(() => p.emit({ type: "host_sample", sample: fakeSample(Date.now(), 77), points: [] }));
    await waitFor(() => expect(screen.getByTestId("cpu-value").textContent).toBe("77 %"));
  });

  it("waits for an engine that does not answer instead of saying it could not start", async () => {
    const p = new FakePlatform();
    p.snapshotError = { kind: "io", code: "engine_unreachable", message: "The Caretaker engine stopped. Waiting for it to come back", fields: [] } satisfies ErrorPayload;
    setPlatform(p);
    render(<App />);
    await waitFor(() => expect(screen.getByTestId("engine-gone").textContent).toContain("Waiting for the Caretaker engine"));
    expect(screen.queryByTestId("engine-error")).toBeNull();
  });

  it("shows why the engine could not start, with its kind", async () => {
    const p = new FakePlatform();
    p.snapshotError = { kind: "invalid_config", code: "invalid_config", message: "metrics.interval_secs: must be between 1 and 3600 (got 0)", fields: ["metrics.interval_secs"] } satisfies ErrorPayload;
    setPlatform(p);
    render(<App />);
    await waitFor(() => expect(screen.getByTestId("engine-error").textContent).toContain("metrics.interval_secs"));
    expect(screen.getByTestId("engine-error").textContent).toContain("invalid config");
  });
});
