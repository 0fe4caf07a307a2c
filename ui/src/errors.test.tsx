// Each error code the engine sends leads to its own help in the UI. The messages here are all
// the same on purpose: what the person sees must follow the code, never the message text.
import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { DetectorState } from "./bindings/DetectorState";
import type { ErrorCode } from "./bindings/ErrorCode";
import type { PlanStatus } from "./bindings/PlanStatus";
import type { SnapshotInfo } from "./bindings/SnapshotInfo";
import { Backups } from "./backups/BackupsPage";
import { RestoreDialog } from "./backups/RestoreDialog";
import { Wizard } from "./backups/Wizard";
import { ERROR_HINTS, ErrorNote } from "./components/ErrorNote";
import { Detectors } from "./Detectors";
import { Monitor } from "./Monitor";
import { CommandError, setPlatform } from "./platform";
import { Services } from "./Services";
import { engineError, TypedFakePlatform, type Answers } from "./testing/fakePlatform";

const SAME = "the engine refused";

const plan: PlanStatus = {
  plan: { name: "Docs", sources: ["/Users/me/Documents"], excludes: [], default_excludes: true, exclude_build_folders: false, repository: "/Volumes/B/repo", schedule: "daily 02:00", keep: { last: 3, hourly: 24, daily: 7, weekly: 4, monthly: 12 }, host: "mini", include_caretaker_data: true, upload_limit_kib: 0, pause_on_battery: true, pause_on_metered: true },
  last_run: null, last_success_ms: null, last_check: null, next_run_ms: null, repository_bytes: null, health: "never", health_message: "No backup yet", password: "keychain", paused: null,
};

const snapshot: SnapshotInfo = { id: "a".repeat(64), short_id: "aaaaaaaa", time_ms: Date.now() - 60000, host: "mini", paths: ["/Users/me/Documents"], tags: [], label: "Docs", files: 5, bytes: 4096 };

const detector: DetectorState = {
  config: { name: "Queue not moving", enabled: true, severity: "warning", check: { name: "Queue", field: "value" }, metric: null, logs: null, stalled: { for_minutes: 5, min_samples: 3 }, error_rate: null, above_normal: null, below_normal: null, stuck: null },
  kind: "stalled", source: "check Queue (value)", firing: false, summary: "moving", evidence: {}, evaluated_at: null, alert_id: null, error: null,
};

function engine(answers: Answers) {
  const p = new TypedFakePlatform(answers);
  setPlatform(p);
  return p;
}

const backupsOverview = () => ({ plans: [plan], job: null, history: [], macos: false, time_machine: null });

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

describe("error codes in the UI", () => {
  it("wrong_password: offers the password entry on the plan, which hands the new one to the engine", async () => {
    const p = engine({
      backups_overview: backupsOverview,
      backup_now: () => {
        throw engineError("wrong_password");
      },
      set_backup_password: () => null,
    });
    render(<Backups />);
    fireEvent.click(await screen.findByTestId("backup-now"));
    const note = await waitFor(() => noteWithCode("wrong_password"));
    expect(note.textContent).toContain(ERROR_HINTS.wrong_password);
    fireEvent.change(within(note).getByTestId("plan-password"), { target: { value: "the right one" } });
    fireEvent.click(within(note).getByText("Save password"));
    await waitFor(() => expect(p.calls).toContainEqual({ cmd: "set_backup_password", req: { plan: "Docs", password: "the right one" } }));
    await waitFor(() => expect(document.querySelector("[data-code]")).toBeNull());
  });

  it("repository_unreachable: asks whether the disk is plugged in, and offers no password entry", async () => {
    engine({
      backups_overview: backupsOverview,
      backup_snapshots: () => {
        throw engineError("repository_unreachable");
      },
    });
    render(<Backups />);
    fireEvent.click(await screen.findByTestId("restore-open"));
    const note = await waitFor(() => noteWithCode("repository_unreachable"));
    expect(note.textContent).toContain("Is the backup disk plugged in, or the network share mounted?");
    expect(within(note).queryByTestId("plan-password")).toBeNull();
  });

  it("keychain_unavailable: the wizard says the keychain could not be used", async () => {
    engine({
      suggest_backup_password: () => "abcde-fghij",
      create_backup_plan: () => {
        throw engineError("keychain_unavailable");
      },
    });
    render(<Wizard onDone={() => {}} />);
    await waitFor(() => expect((screen.getByTestId("wizard-password") as HTMLInputElement).value).toBe("abcde-fghij"));
    fireEvent.change(screen.getByTestId("wizard-sources"), { target: { value: "/Users/me/Documents" } });
    fireEvent.change(screen.getByTestId("wizard-repository"), { target: { value: "/Volumes/B/repo" } });
    fireEvent.click(screen.getByTestId("wizard-saved"));
    fireEvent.click(screen.getByTestId("wizard-create"));
    const note = await screen.findByTestId("wizard-error");
    expect(note.getAttribute("data-code")).toBe("keychain_unavailable");
    expect(note.textContent).toContain("keychain could not be used");
  });

  it("busy: a second maintenance run is refused as already running", async () => {
    engine({
      maintenance_status: () => ({ running: null, last_run: null, next_run_ms: null, tasks: [] }),
      run_maintenance: () => {
        throw engineError("busy");
      },
    });
    render(<Monitor />);
    fireEvent.click(await screen.findByTestId("run-now"));
    const note = await screen.findByTestId("maintenance-error");
    expect(note.getAttribute("data-code")).toBe("busy");
    expect(note.textContent).toContain("Already running");
  });

  it("disk_full: a restore says to free space or choose another place", async () => {
    engine({
      restore_backup: () => {
        throw engineError("disk_full");
      },
    });
    render(<RestoreDialog plan="Docs" snapshot={snapshot} entry={null} onClose={() => {}} />);
    fireEvent.change(screen.getByTestId("restore-dest"), { target: { value: "/r" } });
    fireEvent.click(screen.getByTestId("restore-go"));
    const note = await screen.findByTestId("restore-error");
    expect(note.getAttribute("data-code")).toBe("disk_full");
    expect(note.textContent).toContain("The disk is full");
  });

  it("invalid_config: the check form lists the field paths at fault", async () => {
    engine({
      list_checks: () => [],
      save_check: () => {
        throw engineError("invalid_config", SAME, ["checks.list[2].http.url", "checks.list[2].interval_secs"]);
      },
    });
    render(<Services />);
    fireEvent.click(screen.getByTestId("add-check"));
    fireEvent.click(screen.getByTestId("check-save"));
    const note = await screen.findByTestId("check-form-error");
    expect(note.getAttribute("data-code")).toBe("invalid_config");
    const fields = Array.from(note.querySelectorAll(".error-fields li")).map((li) => li.textContent);
    expect(fields).toEqual(["checks.list[2].http.url", "checks.list[2].interval_secs"]);
  });

  it("not_found: says it is gone and offers to read the list again", async () => {
    const p = engine({
      list_detectors: () => [detector],
      delete_detector: () => {
        throw engineError("not_found");
      },
    });
    render(<Detectors />);
    fireEvent.click(await screen.findByTestId("delete-detector"));
    const note = await waitFor(() => noteWithCode("not_found"));
    expect(note.textContent).toContain("no longer there");
    expect(p.count("list_detectors")).toBe(1);
    fireEvent.click(within(note).getByText("Refresh"));
    await waitFor(() => expect(p.count("list_detectors")).toBe(2));
  });

  it("gives each of these codes its own help", () => {
    const codes: ErrorCode[] = ["wrong_password", "repository_unreachable", "keychain_unavailable", "busy", "disk_full", "invalid_config", "not_found"];
    const shown = codes.map((code) => {
      const { container, unmount } = render(<ErrorNote error={new CommandError(engineError(code, SAME, ["a.b"]))} />);
      const text = container.textContent ?? "";
      unmount();
      return text;
    });
    expect(new Set(shown).size).toBe(codes.length);
    shown.forEach((text) => expect(text).not.toBe(SAME));
  });
});

function noteWithCode(code: ErrorCode): HTMLElement {
  const note = document.querySelector<HTMLElement>(`[data-code="${code}"]`);
  if (!note) throw new Error(`no error note with code ${code}`);
  return note;
}
