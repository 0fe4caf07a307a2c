// A backup that could not read some files says so wherever its run is shown, with the paths and
// reasons; on a Mac, "permission denied" comes with how to give Full Disk Access.
import { cleanup, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { BackupRun } from "../bindings/BackupRun";
import type { BackupsOverview } from "../bindings/BackupsOverview";
import type { PlanStatus } from "../bindings/PlanStatus";
import { setPlatform } from "../platform";
import { TypedFakePlatform } from "../testing/fakePlatform";
import { Backups } from "./BackupsPage";

const HOUR = 3_600_000;

const partial: BackupRun = {
  id: 7, plan: "Docs", kind: "backup", trigger: "schedule", started_ms: Date.now() - HOUR, finished_ms: Date.now() - HOUR + 5000,
  status: "partial", snapshot_id: "b".repeat(64), files_new: 4, files_changed: 1, files_unmodified: 10, bytes_processed: 4096,
  bytes_added: 2048, read_data: false, repository_bytes: 8192, error_kind: null, error: null, details: null, unreadable: 3,
  unreadable_items: [
    { path: "/Users/me/Library/Mail", reason: "permission_denied", message: "Operation not permitted (os error 1)" },
    { path: "/Users/me/Documents/tmp.lock", reason: "vanished", message: "No such file or directory (os error 2)" },
  ],
};

const plan: PlanStatus = {
  plan: { name: "Docs", sources: ["/Users/me"], excludes: [], default_excludes: true, exclude_build_folders: false, repository: "/Volumes/B/repo", schedule: "daily 02:00", keep: { last: 3, hourly: 24, daily: 7, weekly: 4, monthly: 12 }, host: "mini", include_caretaker_data: true, upload_limit_kib: 0, pause_on_battery: true, pause_on_metered: true },
  last_run: partial, last_success_ms: partial.finished_ms, last_check: null, next_run_ms: null, repository_bytes: 8192,
  health: "partial", health_message: "Completed with 3 unreadable", password: "keychain", paused: null,
};

function show(o: Partial<BackupsOverview>) {
  const overview: BackupsOverview = { plans: [plan], job: null, history: [partial], macos: false, time_machine: null, ...o };
  setPlatform(new TypedFakePlatform({ backups_overview: () => overview }));
  render(<Backups />);
}

afterEach(cleanup);

describe("backups that could not read some files", () => {
  it("the run history says completed with N unreadable, with the paths and reasons", async () => {
    show({});
    const history = await screen.findByTestId("backup-history");
    const status = within(history).getByTestId("run-status");
    expect(status.textContent).toBe("completed with 3 unreadable");
    expect(status.className).toBe("warn-text");
    const list = within(history).getByTestId("unreadable-list");
    expect(list.textContent).toContain("/Users/me/Library/Mail — permission denied");
    expect(list.textContent).toContain("/Users/me/Documents/tmp.lock — vanished during the backup");
    expect(list.textContent).toContain("and 1 more");
    // Not a Mac: no Full Disk Access advice.
    expect(screen.queryByTestId("full-disk-access")).toBeNull();
  });

  it("the plan card is a warning and lists them too", async () => {
    show({});
    const card = await screen.findByTestId("plan-card");
    expect(within(card).getByTestId("plan-health").className).toContain("warn");
    expect(within(card).getByTestId("plan-last-run").textContent).toContain("completed with 3 unreadable");
    expect(within(card).getByTestId("unreadable-list").textContent).toContain("/Users/me/Library/Mail");
  });

  it("on a Mac, permission denied comes with Full Disk Access and its System Settings address; Time Machine is a second signal", async () => {
    show({ macos: true, time_machine: { latest_ms: Date.now() - 2 * HOUR, path: "/Volumes/TM/x/2026-11-30-031502.backup" } });
    const note = await screen.findByTestId("full-disk-access");
    expect(note.textContent).toContain("Full Disk Access");
    expect(note.textContent).toContain("x-apple.systempreferences:com.apple.preference.security?Privacy_AllFiles");
    expect(screen.getByTestId("time-machine").textContent).toContain("Time Machine");
  });
});
