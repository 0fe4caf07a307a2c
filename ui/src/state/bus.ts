import { useEffect, useRef } from "react";
import type { Event } from "../bindings/Event";

// Every engine event reaches every subscriber, in order. (A single "last event" state would
// drop events that arrive faster than React renders: a maintenance run's progress, log bursts.)
const listeners = new Set<(e: Event) => void>();

export function emitEngineEvent(e: Event) {
  listeners.forEach((cb) => cb(e));
}

/** Calls `handler` for every engine event while the component is mounted. */
export function useEngineEvent(handler: (e: Event) => void) {
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => {
    const cb = (e: Event) => ref.current(e);
    listeners.add(cb);
    return () => {
      listeners.delete(cb);
    };
  }, []);
}
