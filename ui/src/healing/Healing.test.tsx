import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ActionConfig } from "../bindings/ActionConfig";
import type { DryRun } from "../bindings/DryRun";
import type { HealingOverview } from "../bindings/HealingOverview";
import { Healing } from "../Healing";
import { LimitForm } from "./ActionsEditor";
import { createRoot } from "react-dom/client";
import { flushSync } from "react-dom";
import { setPlatform } from "../platform";
import { engineError, TypedFakePlatform } from "../testing/fakePlatform";

afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

const web: ActionConfig = {
  id: "web", name: "Restart web", mode: "escalate", on_checks: ["Web"], on_alerts: [], max_per_hour: 3, cooldown_secs: 300,
  max_attempts: 3, verify_after_secs: 10, respect_manual_stop: true, command: { argv: ["/usr/bin/systemctl", "--user", "restart", "web"], timeout_secs: 60, env_allow: [] },
};

const summary = (config: ActionConfig) => ({
  config, kind: Object.keys(config).find((k) => ["command", "restart_service", "docker_restart", "kill_process", "clear_folder"].includes(k) && config[k as keyof ActionConfig]) ?? "command",
  runs_last_hour: 1, runs_total: 4, healed_total: 3, last_run_at: null, cooldown_left_secs: 120,
});

const guard = { mode: "escalate" as const, runs_last_hour: 0, max_per_hour: 3, all_runs_last_hour: 1, max_actions_per_hour: 5, cooldown_left_secs: 0, would_run: false, verdict: "asks you first: it runs only when you approve it" };

function engine() {
  let actions: ActionConfig[] = [web];
  let limit = 5;
  const overview = (): HealingOverview => ({ max_actions_per_hour: limit, runs_last_hour: 1, actions: actions.map(summary) });
  const p = new TypedFakePlatform({
    healing_overview: overview,
    pending_escalations: () => [],
    healing_log: () => [],
    save_healing_action: ({ original, action }) => {
      if (action.clear_folder && action.clear_folder.path === "/") {
        throw engineError("invalid_config", "healing.actions[1].clear_folder.path: \"/\" is or contains the system folder /; name a cache folder inside it instead", ["healing.actions[1].clear_folder.path"]);
      }
      actions = original ? actions.map((a) => (a.id === original ? action : a)) : [...actions, action];
      return overview();
    },
    delete_healing_action: ({ id }) => {
      actions = actions.filter((a) => a.id !== id);
      return overview();
    },
    set_healing_mode: ({ id, mode }) => {
      actions = actions.map((a) => (a.id === id ? { ...a, mode } : a));
      return overview();
    },
    set_healing_limit: ({ maxActionsPerHour: max_actions_per_hour }) => {
      if (max_actions_per_hour < 1) throw engineError("invalid_config", "healing.max_actions_per_hour: must be between 1 and 1000 (got 0)", ["healing.max_actions_per_hour"]);
      limit = max_actions_per_hour;
      return overview();
    },
    dry_run_healing_action: ({ id, action }): DryRun => {
      const a = action ?? actions.find((x) => x.id === id)!;
      if (a.clear_folder) {
        return {
          action_id: a.id, name: a.name, kind: "clear_folder", summary: "would delete 2 files, 0.0 MB, older than 7 days in /srv/cache", argv: [], working_dir: null, timeout_secs: null,
          env_allow: [], processes: null, refused: null, guard,
          folder: { path: "/srv/cache", older_than_days: 7, files: 2, bytes: 3500, oldest_age_secs: 30 * 86_400, first_paths: ["/srv/cache/a.log", "/srv/cache/b.log"], error: null },
        };
      }
      return { action_id: a.id, name: a.name, kind: "command", summary: "would run", argv: a.command?.argv ?? [], working_dir: null, timeout_secs: 60, env_allow: [], folder: null, processes: null, refused: null, guard };
    },
  });
  return p;
}

const calls = (p: TypedFakePlatform, cmd: string) => p.calls.filter((c) => c.cmd === cmd).map((c) => c.req as Record<string, unknown>);

describe("Healing: the actions editor", () => {
  it("shows each action's guard rails and switches its mode", async () => {
    const p = engine();
    setPlatform(p);
    render(<Healing />);
    const tile = await screen.findByTestId("action-web");
    expect(within(tile).getByTestId("guard-web").textContent).toContain("1/3");
    expect(within(tile).getByTestId("guard-web").textContent).toContain("120 s left");
    expect(screen.getByTestId("healing-limit-used").textContent).toBe("1");
    fireEvent.change(within(tile).getByTestId("mode-web"), { target: { value: "auto" } });
    await waitFor(() => expect((screen.getByTestId("mode-web") as HTMLSelectElement).value).toBe("auto"));
    expect(calls(p, "set_healing_mode")).toEqual([{ id: "web", mode: "auto" }]);
  });

  it("adds a clear_folder action, names the refused field, dry-runs it and saves it", async () => {
    const p = engine();
    setPlatform(p);
    render(<Healing />);
    fireEvent.click(await screen.findByTestId("add-action"));
    fireEvent.change(screen.getByTestId("new-id"), { target: { value: "cache" } });
    fireEvent.change(screen.getByTestId("new-name"), { target: { value: "Clear the cache" } });
    fireEvent.change(screen.getByTestId("new-kind"), { target: { value: "clear_folder" } });
    fireEvent.change(screen.getByTestId("new-on_alerts"), { target: { value: "disk, disk:/" } });
    fireEvent.change(screen.getByTestId("new-clear_folder.path"), { target: { value: "/" } });
    fireEvent.click(screen.getByTestId("new-save"));
    const err = await screen.findByTestId("error-clear_folder.path");
    expect(err.textContent).toContain("system folder");
    expect(err.closest("label")?.className).toBe("invalid");

    fireEvent.change(screen.getByTestId("new-clear_folder.path"), { target: { value: "/srv/cache" } });
    fireEvent.click(screen.getByTestId("new-dry-run"));
    const dry = await screen.findByTestId("dry-run-folder");
    expect(dry.textContent).toContain("2 files");
    expect(dry.textContent).toContain("3.5 kB");
    expect(dry.textContent).toContain("30 days old");
    expect(dry.textContent).toContain("/srv/cache/a.log");
    const [tried] = calls(p, "dry_run_healing_action");
    expect(tried).toMatchObject({ id: null, action: { id: "cache", clear_folder: { path: "/srv/cache", older_than_days: 7 } } });
    expect((tried.action as ActionConfig).command).toBeUndefined();

    fireEvent.click(screen.getByTestId("new-save"));
    await screen.findByTestId("action-cache");
    const saved = calls(p, "save_healing_action");
    expect(saved[1]).toMatchObject({ original: null, action: { on_alerts: ["disk", "disk:/"], mode: "escalate" } });
    expect(screen.queryByTestId("form-new")).toBeNull();
  });

  it("edits an action in place, shows a command's argv in its dry run, and removes it after a yes", async () => {
    const p = engine();
    setPlatform(p);
    render(<Healing />);
    fireEvent.click(await screen.findByTestId("dry-run-web"));
    const argv = await screen.findByTestId("dry-run-argv");
    expect([...argv.querySelectorAll("li")].map((li) => li.textContent)).toEqual(["/usr/bin/systemctl", "--user", "restart", "web"]);

    fireEvent.click(screen.getByTestId("edit-web"));
    fireEvent.change(screen.getByTestId("web-command.timeout_secs"), { target: { value: "90" } });
    fireEvent.click(screen.getByTestId("web-save"));
    await waitFor(() => expect(screen.queryByTestId("form-web")).toBeNull());
    expect(calls(p, "save_healing_action")[0]).toMatchObject({ original: "web", action: { id: "web", command: { timeout_secs: 90 } } });

    const confirm = vi.spyOn(window, "confirm").mockReturnValueOnce(false).mockReturnValueOnce(true);
    fireEvent.click(screen.getByTestId("remove-web"));
    expect(calls(p, "delete_healing_action")).toHaveLength(0);
    fireEvent.click(screen.getByTestId("remove-web"));
    await waitFor(() => expect(screen.queryByTestId("action-web")).toBeNull());
    expect(confirm).toHaveBeenCalledTimes(2);
    expect(calls(p, "delete_healing_action")).toEqual([{ id: "web" }]);
  });

  it("sets the limit for all actions and names it when refused", async () => {
    const p = engine();
    setPlatform(p);
    render(<Healing />);
    fireEvent.change(await screen.findByTestId("healing-limit-input"), { target: { value: "0" } });
    fireEvent.click(screen.getByTestId("healing-limit-save"));
    expect((await screen.findByTestId("error-max_actions_per_hour")).textContent).toContain("between 1 and 1000");
    fireEvent.change(screen.getByTestId("healing-limit-input"), { target: { value: "8" } });
    fireEvent.click(screen.getByTestId("healing-limit-save"));
    await waitFor(() => expect(screen.queryByTestId("error-max_actions_per_hour")).toBeNull());
    expect(calls(p, "set_healing_limit").map((c) => c.maxActionsPerHour)).toEqual([0, 8]);
  });
});

describe("Healing: the limit field", () => {
  const overview = (limit: number): HealingOverview => ({ max_actions_per_hour: limit, runs_last_hour: 1, actions: [] });

  // The form first appears in a render React schedules itself (the overview arriving from the
  // engine), so its effects have not run yet when the person types. A field reset from an effect
  // then undid the first keystroke (a full UI run once sent the old limit instead of 0).
  it("keeps what is typed before the form's first effects have run", async () => {
    const prevAct = (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT;
    (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = false;
    const container = document.body.appendChild(document.createElement("div"));
    const root = createRoot(container);
    try {
      root.render(<LimitForm overview={overview(5)} onChanged={() => {}} />);
      // React renders and commits in one scheduler task and runs effects in a later one: this
      // callback, queued before either, runs after the first and before the second.
      await new Promise<void>((r) => (globalThis as unknown as { setImmediate: (f: () => void) => void }).setImmediate(r));
      const input = container.querySelector<HTMLInputElement>('[data-testid="healing-limit-input"]');
      expect(input).not.toBeNull();
      flushSync(() => fireEvent.change(input!, { target: { value: "0" } }));
      await new Promise((r) => setTimeout(r, 20));
      expect(container.querySelector<HTMLInputElement>('[data-testid="healing-limit-input"]')!.value).toBe("0");
      // A new limit from the engine still replaces the field; the same limit again leaves it.
      flushSync(() => root.render(<LimitForm overview={overview(8)} onChanged={() => {}} />));
      expect(container.querySelector<HTMLInputElement>('[data-testid="healing-limit-input"]')!.value).toBe("8");
      flushSync(() => fireEvent.change(container.querySelector('[data-testid="healing-limit-input"]')!, { target: { value: "9" } }));
      flushSync(() => root.render(<LimitForm overview={overview(8)} onChanged={() => {}} />));
      expect(container.querySelector<HTMLInputElement>('[data-testid="healing-limit-input"]')!.value).toBe("9");
    } finally {
      root.unmount();
      container.remove();
      (globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = prevAct;
    }
  });
});
