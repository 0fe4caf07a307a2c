// A fake engine for UI tests, typed by `Commands`: an answer of the wrong shape does not compile.
import type { ErrorCode } from "../bindings/ErrorCode";
import type { ErrorPayload } from "../bindings/ErrorPayload";
import type { Event } from "../bindings/Event";
import type { Commands, EngineConnection, Platform } from "../platform";
import { fakeSnapshot } from "../platform/preview";

export type Answers = { [K in keyof Commands]?: (req: Commands[K]["req"]) => Commands[K]["res"] | Promise<Commands[K]["res"]> };

export class TypedFakePlatform implements Platform {
  listeners = new Set<(e: Event) => void>();
  resyncs = new Set<() => void>();
  connections = new Set<(c: EngineConnection) => void>();
  calls: Array<{ cmd: keyof Commands; req: unknown }> = [];

  constructor(public answers: Answers = {}) {}

  async call<K extends keyof Commands>(cmd: K, req: Commands[K]["req"]): Promise<Commands[K]["res"]> {
    this.calls.push({ cmd, req });
    if (cmd === "snapshot" && !this.answers.snapshot) return fakeSnapshot(Date.now()) as Commands[K]["res"];
    const answer = this.answers[cmd] as ((r: Commands[K]["req"]) => Commands[K]["res"] | Promise<Commands[K]["res"]>) | undefined;
    if (!answer) throw new Error(`the fake engine has no answer for ${cmd}`);
    return answer(req);
  }

  count(cmd: keyof Commands) {
    return this.calls.filter((c) => c.cmd === cmd).length;
  }

  async onEvent(cb: (e: Event) => void) {
    this.listeners.add(cb);
    return () => void this.listeners.delete(cb);
  }
  async onResync(cb: () => void) {
    this.resyncs.add(cb);
    return () => void this.resyncs.delete(cb);
  }
  async onConnection(cb: (c: EngineConnection) => void) {
    this.connections.add(cb);
    return () => void this.connections.delete(cb);
  }
  /** What the shell sends when the engine goes away or comes back (then a resync). */
  connection(c: EngineConnection) {
    this.connections.forEach((cb) => cb(c));
    if (c.connected) this.resyncs.forEach((cb) => cb());
  }
  async onNavigate() {
    return () => {};
  }
  emit(e: Event) {
    this.listeners.forEach((cb) => cb(e));
  }
}

/** A refusal as the engine sends it. The kind is left coarse on purpose: the UI must go by the code. */
export function engineError(code: ErrorCode, message = "the engine refused", fields: string[] = []): ErrorPayload {
  return { kind: "internal", code, message, fields };
}
