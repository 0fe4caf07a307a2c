import { useCallback, useEffect, useRef, useState } from "react";
import type { Event } from "../bindings/Event";
import { asCommandError, platform, type CommandError, type Commands } from "../platform";
import { useEngineEvent } from "./bus";

/** Calls one engine command. */
export async function call<K extends keyof Commands>(cmd: K, req: Commands[K]["req"]): Promise<Commands[K]["res"]> {
  return (await platform()).call(cmd, req);
}

/** An event type, or a test for events that need a closer look (an alert that resolved). */
export type Trigger = Event["type"] | ((e: Event) => boolean);

export interface CommandOptions {
  /** Engine events after which the answer is stale and is read again. */
  refetchOn?: Trigger[];
  /** Not yet: the request needs something the page does not have (no snapshot chosen). */
  skip?: boolean;
  /** Values outside the request whose change also calls for a fresh answer. */
  deps?: unknown[];
}

export interface CommandState<T> {
  /** The answer to the current request; null until it arrives. */
  data: T | null;
  error: CommandError | null;
  loading: boolean;
  refetch: () => Promise<void>;
  /** Takes what an event or an action's reply says, without a round trip. */
  setData: (next: (data: T | null) => T | null) => void;
}

interface Slot<T> {
  key: string;
  data: T | null;
  error: CommandError | null;
  loading: boolean;
}

/**
 * Reads `cmd(req)` now, again whenever the request changes, and after every event named in
 * `refetchOn`. The answer belongs to its request: while a new request is under way, `data` is
 * null rather than the answer to the old one.
 */
export function useCommand<K extends keyof Commands>(cmd: K, req: Commands[K]["req"], opts: CommandOptions = {}): CommandState<Commands[K]["res"]> {
  type Res = Commands[K]["res"];
  const { refetchOn, skip = false, deps } = opts;
  // Requests are small plain objects, usually written inline: their JSON is their identity.
  const key = JSON.stringify([cmd, req, deps ?? null]);
  const latest = useRef({ cmd, req, key });
  latest.current = { cmd, req, key };
  const seq = useRef(0);
  const [slot, setSlot] = useState<Slot<Res>>({ key, data: null, error: null, loading: !skip });

  const refetch = useCallback(async () => {
    const { cmd, req, key } = latest.current;
    const n = ++seq.current;
    setSlot((s) => (s.key === key ? { ...s, loading: true } : { key, data: null, error: null, loading: true }));
    try {
      const data = await call(cmd, req);
      // Only the newest call may answer: an older one can land later (a filter changed meanwhile).
      if (n === seq.current) setSlot({ key, data, error: null, loading: false });
    } catch (e) {
      if (n === seq.current) setSlot((s) => ({ key, data: s.key === key ? s.data : null, error: asCommandError(e), loading: false }));
    }
  }, []);

  useEffect(() => {
    if (!skip) void refetch();
  }, [key, skip, refetch]);

  useEngineEvent((e) => {
    if (skip || !refetchOn) return;
    if (refetchOn.some((t) => (typeof t === "function" ? t(e) : t === e.type))) void refetch();
  });

  const setData = useCallback((next: (data: Res | null) => Res | null) => {
    const { key } = latest.current;
    setSlot((s) => (s.key === key ? { ...s, data: next(s.data) } : { key, data: next(null), error: null, loading: false }));
  }, []);

  const current = slot.key === key;
  return {
    data: current ? slot.data : null,
    error: current ? slot.error : null,
    loading: current ? slot.loading : !skip,
    refetch,
    setData,
  };
}

/** A button's command: busy while it runs, its error kept until the next try. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<CommandError | null>(null);

  /** Runs `work`; resolves to whether it succeeded (its error is in `error`). */
  const run = useCallback(async (work: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await work();
      return true;
    } catch (e) {
      setError(asCommandError(e));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);

  const clear = useCallback(() => setError(null), []);
  return { busy, error, run, clear };
}
