// The one folder that may import @tauri-apps/*. Everything else talks to `Platform`, so UI
// tests run against a fake.
import type { Event } from "../bindings/Event";
import type { ErrorCode } from "../bindings/ErrorCode";
import type { ErrorPayload } from "../bindings/ErrorPayload";
import type { Commands } from "./commands.gen";

// The command map is generated from the engine's contract (crates/caretaker-engine/src/control/contract.rs).
export type { Commands };

/** Typed answers to some commands, for fakes and the browser preview. */
export type CommandHandlers = {
  [K in keyof Commands]?: (req: Commands[K]["req"]) => Commands[K]["res"] | Promise<Commands[K]["res"]>;
};

export interface Platform {
  call<K extends keyof Commands>(cmd: K, req: Commands[K]["req"]): Promise<Commands[K]["res"]>;
  /** Engine events; returns an unsubscribe function. */
  onEvent(cb: (e: Event) => void): Promise<() => void>;
  /** Fired when the window fell behind and should re-read the snapshot. */
  onResync(cb: () => void): Promise<() => void>;
  /** Whether the engine answers (an attached engine can go away and come back). */
  onConnection(cb: (c: EngineConnection) => void): Promise<() => void>;
  /** The tray asks for a page ("alerts"). */
  onNavigate(cb: (page: string) => void): Promise<() => void>;
}

/** What the shell says about its engine's connection. */
export interface EngineConnection {
  connected: boolean;
  message: string | null;
}

export class CommandError extends Error {
  constructor(public payload: ErrorPayload) {
    super(payload.message);
  }

  /** The precise reason, to branch on (never on the message). */
  get code(): ErrorCode {
    return this.payload.code;
  }
}

export function asCommandError(e: unknown): CommandError {
  if (e instanceof CommandError) return e;
  if (e && typeof e === "object" && "kind" in e && "message" in e) return new CommandError(e as ErrorPayload);
  return new CommandError({ kind: "internal", code: "internal", message: String(e), fields: [] });
}

let current: Platform | null = null;

export async function platform(): Promise<Platform> {
  if (current) return current;
  if (typeof window !== "undefined" && "__TAURI_INTERNALS__" in window) {
    const { tauriPlatform } = await import("./tauri");
    current = tauriPlatform;
  } else {
    const { browserPreviewPlatform } = await import("./preview");
    current = browserPreviewPlatform();
  }
  return current;
}

export function setPlatform(p: Platform) {
  current = p;
}
