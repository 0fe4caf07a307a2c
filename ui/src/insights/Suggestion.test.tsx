import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { DryRun } from "../bindings/DryRun";
import type { Finding } from "../bindings/Finding";
import type { HealingRecord } from "../bindings/HealingRecord";
import { Healing } from "../Healing";
import { Insights } from "../Insights";
import { setPlatform } from "../platform";
import { engineError, TypedFakePlatform } from "../testing/fakePlatform";

afterEach(cleanup);

const record = (id: number, findingId: number, over: Partial<HealingRecord> = {}): HealingRecord => ({
  id, alert_id: null, action_id: "clear-cache", subject: `finding #${findingId}: Disk filling up`, mode: "escalate", decision: "escalated", argv: [],
  exit_code: null, stdout: null, stderr: null, created_at: Date.now(), started_at: null, ended_at: null, outcome: null, healed: null, finding_id: findingId, ...over,
});

const finding = (id: number, over: Partial<Finding> = {}): Finding => ({
  id, scan_id: 1, classification: "resource", severity: "medium", title: `Finding ${id}`, body: "The cache grows", source_log_ids: [4],
  suggested_action: "clear-cache", suggested_confidence: 0.8, created_at: Date.now(), dismissed_at: null,
  suggestion: "clear-cache", suggestion_note: null, healing: [record(10 + id, id)], ...over,
});

const guard = { mode: "escalate" as const, runs_last_hour: 0, max_per_hour: 3, all_runs_last_hour: 0, max_actions_per_hour: 5, cooldown_left_secs: 0, would_run: false, verdict: "asks you first: it runs only when you approve it" };
const dryRun: DryRun = {
  action_id: "clear-cache", name: "Clear cache", kind: "clear_folder", summary: "would delete 2 files", argv: [], working_dir: null, timeout_secs: null, env_allow: [],
  folder: { path: "/srv/cache", older_than_days: 7, files: 2, bytes: 3500, oldest_age_secs: 9 * 86_400, first_paths: ["/srv/cache/a.log"], error: null },
  processes: null, refused: null, guard,
};

function engine(findings: Finding[], approve: (id: number) => HealingRecord = (id) => record(id + 100, 1, { decision: "approved_by_user", started_at: Date.now() })) {
  let list = findings;
  const p = new TypedFakePlatform({
    analysis_config: () => ({ enabled: true, cadence_minutes: 60, endpoint: "http://127.0.0.1:11434/v1", model: "m", prompt_template: "p", prompt_user_modified: false, max_log_lines: 500, min_level: "warn", request_timeout_secs: 60 }),
    analysis_prompt: () => ({ template: "p", user_modified: false, default_template: "p", default_version: 3, seeded_version: 3, newer_default_available: false }),
    analysis_scans: () => [],
    list_findings: () => list,
    dry_run_healing_action: () => dryRun,
    approve_escalation: ({ id }) => {
      const r = approve(id);
      list = list.map((f) => (f.healing.some((h) => h.id === id) ? { ...f, healing: [r, { ...f.healing[0], outcome: "approved" }] } : f));
      return r;
    },
    dismiss_escalation: ({ id }) => {
      list = list.map((f) => (f.healing.some((h) => h.id === id) ? { ...f, healing: [{ ...f.healing[0], outcome: "dismissed" }] } : f));
      return null;
    },
  });
  return p;
}

describe("Insights: a suggested action", () => {
  it("shows the dry run before Run it, and Run it approves the escalation once", async () => {
    const p = engine([finding(1)]);
    setPlatform(p);
    render(<Insights />);
    const card = await screen.findByTestId("approval-11");
    const folder = await within(card).findByTestId("dry-run-folder");
    expect(folder.textContent).toContain("2 files");
    expect(folder.textContent).toContain("9 days old");
    expect(p.calls.find((c) => c.cmd === "dry_run_healing_action")?.req).toEqual({ id: "clear-cache", action: null });
    fireEvent.click(within(card).getByTestId("run-it"));
    expect(await screen.findByTestId("suggestion-state")).toHaveProperty("textContent", "approved by user: running…");
    expect(p.calls.filter((c) => c.cmd === "approve_escalation").map((c) => c.req)).toEqual([{ id: 11 }]);
    expect(p.count("dismiss_escalation")).toBe(0);
    expect(screen.queryByTestId("run-it")).toBeNull();
  });

  it("keeps Run it disabled until the dry run is shown", async () => {
    const p = engine([finding(1)]);
    let show: (d: DryRun) => void = () => {};
    p.answers.dry_run_healing_action = () => new Promise<DryRun>((resolve) => (show = resolve));
    setPlatform(p);
    render(<Insights />);
    const run = (await screen.findByTestId("run-it")) as HTMLButtonElement;
    expect(run.disabled).toBe(true);
    expect(screen.queryByTestId("dry-run")).toBeNull();
    show(dryRun);
    await screen.findByTestId("dry-run");
    expect(run.disabled).toBe(false);
  });

  it("Dismiss runs nothing", async () => {
    const p = engine([finding(1)]);
    setPlatform(p);
    render(<Insights />);
    fireEvent.click(await screen.findByTestId("dismiss-it"));
    expect((await screen.findByTestId("suggestion-state")).textContent).toBe("escalated: dismissed");
    expect(p.calls.filter((c) => c.cmd === "dismiss_escalation").map((c) => c.req)).toEqual([{ id: 11 }]);
    expect(p.count("approve_escalation")).toBe(0);
  });

  it("says why the guard rails refused it, and shows an unknown action as text only", async () => {
    const refused = finding(2, { healing: [record(12, 2, { decision: "refused_rate_limit", outcome: "Clear cache already ran 3 times in the last hour (limit 3)" })] });
    const unknown = finding(3, { suggested_action: null, suggested_confidence: null, suggestion: "kill_process node", suggestion_note: "no kill_process action is configured; set one up under Healing to allow it", healing: [] });
    const p = engine([refused, unknown]);
    setPlatform(p);
    render(<Insights />);
    const r = await screen.findByTestId("suggestion-2");
    expect(within(r).getByTestId("suggestion-state").textContent).toBe("refused rate limit: Clear cache already ran 3 times in the last hour (limit 3)");
    const u = screen.getByTestId("suggestion-3");
    expect(u.textContent).toContain("kill_process node");
    expect(within(u).getByTestId("suggestion-note").textContent).toBe("Shown as text only: no kill_process action is configured; set one up under Healing to allow it");
    expect(screen.queryByTestId("run-it")).toBeNull();
    expect(p.count("dry_run_healing_action")).toBe(0);
  });

  it("shows the engine's refusal when Run it is over the limit", async () => {
    const p = engine([finding(1)], () => {
      throw engineError("invalid_input", "not run: Clear cache already ran 3 times in the last hour (limit 3)");
    });
    setPlatform(p);
    render(<Insights />);
    const run = await screen.findByTestId("run-it");
    await waitFor(() => expect((run as HTMLButtonElement).disabled).toBe(false));
    fireEvent.click(run);
    expect((await screen.findByTestId("suggestion-error")).textContent).toContain("not run: Clear cache already ran 3 times");
    expect(screen.getByTestId("run-it")).toBeTruthy();
  });

  it("shows the same dry run and buttons on the Healing page", async () => {
    let waiting = [record(11, 1)];
    const p = new TypedFakePlatform({
      healing_overview: () => ({ max_actions_per_hour: 5, runs_last_hour: 0, actions: [] }),
      healing_log: () => [],
      pending_escalations: () => waiting,
      dry_run_healing_action: () => dryRun,
      approve_escalation: ({ id }) => {
        waiting = [];
        return record(id + 100, 1, { decision: "approved_by_user" });
      },
    });
    setPlatform(p);
    render(<Healing />);
    const card = await screen.findByTestId("escalation-11");
    expect(card.textContent).toContain("Suggested by log analysis");
    await within(card).findByTestId("dry-run-folder");
    fireEvent.click(within(card).getByTestId("run-it"));
    await screen.findByTestId("no-escalations");
    expect(p.calls.filter((c) => c.cmd === "approve_escalation").map((c) => c.req)).toEqual([{ id: 11 }]);
  });
});
