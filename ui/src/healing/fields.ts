// The healing action form's model: which kinds exist, a blank action of each, and how the
// engine's refusals map back onto the form's fields. The engine validates; this only routes.
import type { ActionConfig } from "../bindings/ActionConfig";
import type { CommandError } from "../platform";

export const KINDS = ["command", "restart_service", "docker_restart", "kill_process", "clear_folder"] as const;
export type Kind = (typeof KINDS)[number];

export const KIND_LABEL: Record<Kind, string> = {
  command: "Run a program",
  restart_service: "Restart a service",
  docker_restart: "Restart a container",
  kill_process: "Stop runaway processes",
  clear_folder: "Clear old files in a folder",
};

export function kindOf(a: ActionConfig): Kind {
  return KINDS.find((k) => a[k] != null) ?? "command";
}

/** The defaults the engine would fill in for a new action. */
export function blankAction(): ActionConfig {
  return {
    id: "",
    name: "",
    mode: "escalate",
    on_checks: [],
    on_alerts: [],
    max_per_hour: 3,
    cooldown_secs: 300,
    max_attempts: 3,
    verify_after_secs: 10,
    respect_manual_stop: true,
  };
}

/** `a` with only the part of `kind` set (a blank one when it had none). */
export function withKind(a: ActionConfig, kind: Kind): ActionConfig {
  const next: ActionConfig = { ...a };
  for (const k of KINDS) delete next[k];
  switch (kind) {
    case "command":
      next.command = a.command ?? { argv: [], timeout_secs: 600, env_allow: [] };
      break;
    case "restart_service":
      next.restart_service = a.restart_service ?? { name: "", system: false };
      break;
    case "docker_restart":
      next.docker_restart = a.docker_restart ?? { container: "" };
      break;
    case "kill_process":
      next.kill_process = a.kill_process ?? { name: "" };
      break;
    case "clear_folder":
      next.clear_folder = a.clear_folder ?? { path: "", older_than_days: 7 };
      break;
  }
  return next;
}

/**
 * The engine's refusal as field → message, keyed by the path inside one action
 * (`healing.actions[2].command.timeout_secs` → `command.timeout_secs`; the action itself is "").
 */
export function fieldErrors(error: CommandError | null): Record<string, string> {
  const out: Record<string, string> = {};
  if (!error || error.payload.code !== "invalid_config") return out;
  const lines = error.message.split("\n");
  for (const path of error.payload.fields ?? []) {
    const line = lines.find((l) => l.startsWith(`${path}: `));
    const key = path.replace(/^healing\.actions\[\d+\]\.?/, "").replace(/^healing\./, "");
    out[key] = line ? line.slice(path.length + 2) : "needs a change";
  }
  return out;
}

export const list = (text: string) => text.split(",").map((s) => s.trim()).filter(Boolean);
export const lines = (text: string) => text.split("\n").filter((s) => s !== "");

/** A number field: blank is null where that means "not set". */
export function num(text: string, optional = false): number | null {
  if (text.trim() === "") return optional ? null : NaN;
  return Number(text);
}
