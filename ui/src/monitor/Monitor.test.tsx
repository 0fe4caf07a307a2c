import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { LogLine } from "../bindings/LogLine";
import type { LogQuery } from "../bindings/LogQuery";
import type { RunReport } from "../bindings/RunReport";
import { setPlatform } from "../platform";
import { emitEngineEvent } from "../state/bus";
import { TypedFakePlatform } from "../testing/fakePlatform";
import { Logs } from "./Logs";
import { Maintenance } from "./Maintenance";

afterEach(cleanup);

const line = (id: number, target: string, message: string, fields: Record<string, unknown> = {}): LogLine => ({ id, ts_ms: 1000 + id, level: "info", target, message, fields });
const run = (run_id: number, status: RunReport["status"], failed = 0): RunReport => ({
  run_id, trigger: run_id === 1 ? "schedule" : "manual", status, started_at: run_id * 1000, ended_at: status === "running" ? null : run_id * 1000 + 500, tasks: [],
  summary: { completed: 4, failed, skipped: 0, rows_pruned: 10, bytes_freed: 2048, duration_ms: 500 },
});

describe("the log page", () => {
  it("keeps every component in the list while filtering, and searches a time window", async () => {
    const searches: LogQuery[] = [];
    const last = () => searches[searches.length - 1];
    const p = new TypedFakePlatform({
      tail_logs: () => [line(1, "caretaker_engine::checks", "check ok"), line(2, "caretaker_engine::backup", "backup done")],
      search_logs: ({ query }) => {
        searches.push(query);
        return query.target ? [line(2, query.target, "backup done")] : [line(3, "caretaker_engine::alerts", "opened")];
      },
    });
    setPlatform(p);
    render(<Logs />);
    const options = () => Array.from((screen.getByTestId("log-component") as HTMLSelectElement).options).map((o) => o.value);
    await waitFor(() => expect(options()).toEqual(["", "caretaker_engine::backup", "caretaker_engine::checks"]));
    fireEvent.change(screen.getByTestId("log-component"), { target: { value: "caretaker_engine::backup" } });
    await waitFor(() => expect(last()?.target).toBe("caretaker_engine::backup"));
    // Only backup lines are shown now; the list still offers the others.
    await waitFor(() => expect(screen.getAllByText("backup done")).toHaveLength(1));
    expect(screen.queryByText("check ok")).toBeNull();
    expect(options()).toEqual(expect.arrayContaining(["", "caretaker_engine::backup", "caretaker_engine::checks"]));

    fireEvent.change(screen.getByTestId("log-component"), { target: { value: "" } });
    const before = Date.now();
    fireEvent.change(screen.getByTestId("log-since"), { target: { value: "24h" } });
    await waitFor(() => expect(last()?.since_ms).toBeDefined());
    const since = last()?.since_ms ?? 0;
    expect(Math.abs(before - 86400_000 - since)).toBeLessThan(5000);
    await waitFor(() => expect(options()).toContain("caretaker_engine::alerts"));
    expect(options()).toContain("caretaker_engine::checks");
  });
});

describe("the maintenance page", () => {
  it("lists past runs, shows a picked one, and follows the running command's output live", async () => {
    let status = { running: null as RunReport | null, last_run: run(2, "completed"), next_run_ms: null, tasks: [] };
    const p = new TypedFakePlatform({
      maintenance_status: () => status,
      maintenance_history: () => [run(2, "completed"), run(1, "failed", 1)],
      search_logs: () => [],
    });
    setPlatform(p);
    render(<Maintenance />);
    const rows = await screen.findAllByTestId("maintenance-history-row");
    expect(rows.map((r) => r.getAttribute("data-run"))).toEqual(["2", "1"]);
    expect(rows[1].textContent).toContain("failed");
    expect(screen.getByTestId("maintenance-summary").textContent).toContain("Run 2 completed");
    fireEvent.click(rows[1].querySelector("button") as HTMLButtonElement);
    await waitFor(() => expect(screen.getByTestId("maintenance-summary").textContent).toContain("Run 1 failed: 4 completed, 1 failed"));

    // A run starts; what its command writes shows up as it comes.
    status = { ...status, running: run(3, "running") };
    act(() => emitEngineEvent({ type: "maintenance_progress", run_id: 3, task_id: "run_command", status: "started", message: null } as never));
    act(() => emitEngineEvent({ type: "log", lines: [line(0, "caretaker_engine::maintenance::tasks", "/bin/sh: pruned 3 formulae", { run_id: 3 }), line(0, "caretaker_engine::checks", "other", { run_id: 3 })] }));
    await waitFor(() => expect(screen.getByText("/bin/sh: pruned 3 formulae")).toBeTruthy());
    expect(screen.queryByText("other")).toBeNull();
  });
});
