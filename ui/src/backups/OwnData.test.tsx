// Restoring Caretaker itself: from a plan's card, and when the wizard adopts a repository that
// already holds backups ("set up this Mac from a backup").
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PlanStatus } from "../bindings/PlanStatus";
import { setPlatform } from "../platform";
import { TypedFakePlatform } from "../testing/fakePlatform";
import { PlanCard } from "./PlanCard";
import { Wizard } from "./Wizard";

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

const READY = { snapshot_id: "1a2b3c4d", snapshot_time_ms: 0, host: "old-mini", message: "Caretaker's database and settings from snapshot 1a2b3c4d are checked and ready. Quit Caretaker and open it again" };

const status: PlanStatus = {
  plan: { name: "Docs", sources: ["/Users/me"], excludes: [], default_excludes: true, exclude_build_folders: false, repository: "/Volumes/B/repo", schedule: "daily 02:00", keep: { last: 3, hourly: 24, daily: 7, weekly: 4, monthly: 12 }, host: "mini", include_caretaker_data: true, upload_limit_kib: 0, pause_on_battery: true, pause_on_metered: true },
  last_run: null, last_success_ms: null, last_check: null, next_run_ms: null, repository_bytes: null, health: "ok", health_message: "Backed up", password: "keychain", paused: null,
};

describe("restoring Caretaker's own data", () => {
  it("a plan's card asks first, then says the data waits for the next start", async () => {
    const p = new TypedFakePlatform({ restore_own_data: () => READY });
    setPlatform(p);
    const confirm = vi.spyOn(window, "confirm").mockReturnValueOnce(false).mockReturnValueOnce(true);
    render(<PlanCard p={status} job={null} macos={false} onBrowse={() => {}} onChanged={() => {}} />);
    act(() => screen.getByTestId("own-data-restore").click());
    expect(p.count("restore_own_data")).toBe(0);
    act(() => screen.getByTestId("own-data-restore").click());
    await waitFor(() => expect(screen.getByTestId("own-data-ready").textContent).toContain("checked and ready"));
    expect(confirm).toHaveBeenCalledTimes(2);
    expect(p.calls.find((c) => c.cmd === "restore_own_data")?.req).toEqual({ plan: "Docs", snapshot: null });
    cleanup();
    render(<PlanCard p={{ ...status, plan: { ...status.plan, include_caretaker_data: false } }} job={null} macos={false} onBrowse={() => {}} onChanged={() => {}} />);
    expect(screen.queryByTestId("own-data-restore")).toBeNull();
    // A due backup that waits says why, beside the next run.
    cleanup();
    render(<PlanCard p={{ ...status, paused: "waiting: this Mac runs on battery (it backs up once it is plugged in)" }} job={null} macos={false} onBrowse={() => {}} onChanged={() => {}} />);
    expect(screen.getByTestId("plan-paused").textContent).toContain("runs on battery");
  });

  it("adopting a repository with backups offers to set this Mac up from it", async () => {
    const p = new TypedFakePlatform({
      suggest_backup_password: () => "abcde-fghij-kmnpq",
      create_backup_plan: () => ({ password_stored_in: "keychain", existing_repository: true }),
      restore_own_data: () => READY,
    });
    setPlatform(p);
    let done = 0;
    render(<Wizard onDone={() => done++} />);
    expect(screen.getByTestId("wizard-from-backup-hint")).toBeTruthy();
    await waitFor(() => expect((screen.getByTestId("wizard-password") as HTMLInputElement).value).not.toBe(""));
    fireEvent.change(screen.getByTestId("wizard-sources"), { target: { value: "/Users/me" } });
    fireEvent.change(screen.getByTestId("wizard-repository"), { target: { value: "/Volumes/B/repo" } });
    act(() => screen.getByTestId("wizard-saved").click());
    act(() => screen.getByTestId("wizard-create").click());
    await waitFor(() => expect(screen.getByTestId("setup-from-backup")).toBeTruthy());
    expect(done).toBe(0);
    act(() => screen.getByTestId("setup-from-backup-go").click());
    await waitFor(() => expect(screen.getByTestId("setup-from-backup-done").textContent).toContain("Quit Caretaker and open it again"));
    expect(p.calls.find((c) => c.cmd === "restore_own_data")?.req).toEqual({ plan: "Documents", snapshot: null });
    act(() => screen.getByText("Done").click());
    expect(done).toBe(1);
  });
});
