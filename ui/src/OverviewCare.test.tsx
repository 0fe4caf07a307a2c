import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { BackupsOverview } from "./bindings/BackupsOverview";
import type { MaintenanceStatus } from "./bindings/MaintenanceStatus";
import type { RunReport } from "./bindings/RunReport";
import { age, CareCard } from "./OverviewCare";
import { setPlatform } from "./platform";
import { emitEngineEvent } from "./state/bus";
import { TypedFakePlatform } from "./testing/fakePlatform";

afterEach(cleanup);

const H = 3600_000;
const backups = (plans: never[]): BackupsOverview => ({ plans, job: null, history: [], macos: false, time_machine: null });
const plan = (name: string, health: string, last_success_ms: number | null) => ({ plan: { name }, health, last_success_ms }) as never;
const report = (status: RunReport["status"], ended_at: number, failed: number) =>
  ({ run_id: 1, trigger: "schedule", status, started_at: ended_at - 60_000, ended_at, tasks: [], summary: { completed: 5, failed, skipped: 0, rows_pruned: 0, bytes_freed: 0, duration_ms: 60_000 } }) as RunReport;

describe("the Overview's backups and maintenance card", () => {
  it("shows each plan's last good copy and the last maintenance run, and follows a new run", async () => {
    const now = Date.now();
    let overview = backups([plan("Documents", "ok", now - 3 * H), plan("Photos", "never", null)]);
    let status = { running: null, last_run: report("failed", now - 50 * H, 2), next_run_ms: null, tasks: [] } as MaintenanceStatus;
    const p = new TypedFakePlatform({ backups_overview: () => overview, maintenance_status: () => status });
    setPlatform(p);
    render(<CareCard onOpen={() => {}} />);
    const rows = await screen.findAllByTestId("overview-plan");
    expect(rows.map((r) => r.textContent)).toEqual(["okDocumentslast good copy 3 h ago", "neverPhotosno good copy yet"]);
    expect((await screen.findByTestId("overview-maintenance")).textContent).toContain("failed 2 d ago, 2 task(s) failed");

    overview = backups([plan("Documents", "ok", now - 3 * H), plan("Photos", "ok", now)]);
    act(() => emitEngineEvent({ type: "backup_finished", run: {} as never }));
    await waitFor(() => expect(screen.getAllByTestId("overview-plan")[1].textContent).toBe("okPhotoslast good copy just now"));
    status = { ...status, last_run: report("completed", now, 0) };
    act(() => emitEngineEvent({ type: "maintenance_complete", report: status.last_run as RunReport }));
    await waitFor(() => expect(screen.getByTestId("overview-maintenance").textContent).toContain("completed just now"));
  });

  it("says when there is no plan yet", async () => {
    setPlatform(new TypedFakePlatform({ backups_overview: () => backups([]), maintenance_status: () => ({ running: null, last_run: null, next_run_ms: null, tasks: [] }) }));
    render(<CareCard onOpen={() => {}} />);
    expect((await screen.findByTestId("overview-no-plans")).textContent).toBe("No backup plan yet.");
    expect((await screen.findByTestId("overview-maintenance")).textContent).toContain("not run yet");
  });

  it("ages in the largest unit that fits", () => {
    expect(age(0, 30_000)).toBe("just now");
    expect(age(0, 20 * 60_000)).toBe("20 min ago");
    expect(age(0, 5 * H)).toBe("5 h ago");
    expect(age(0, 90 * H)).toBe("4 d ago");
  });
});
