// Time for labels that say how long ago something happened. Each label keeps its own clock and
// wakes only when its text would change ("3 min ago" waits about a minute, not a second), so
// the passing of time re-renders that label and nothing around it. A hidden window keeps none.
import { useEffect, useState, useSyncExternalStore } from "react";

/** Milliseconds until the text of `ago(ms, now)` changes (see format.ts, which rounds). */
export function agoNextChangeIn(ms: number, now: number): number {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  // The next whole second of age at which the label reads differently.
  let next: number;
  if (s < 60) next = s + 1;
  else if (s < 3600) next = Math.min(Math.round(s / 60) * 60 + 30, 3600);
  else next = Math.round(s / 3600) * 3600 + 1800;
  // Age rounds to the nearest second, so `next` is reached half a second early.
  return Math.max(1, ms + (next - 0.5) * 1000 - now);
}

/** Milliseconds until a count of whole minutes left before `until` changes. */
export function minutesLeftNextChangeIn(until: number, now: number): number {
  const left = until - now;
  if (left <= 0) return Infinity;
  return left % 60_000 || 60_000;
}

function subscribeVisibility(cb: () => void) {
  document.addEventListener("visibilitychange", cb);
  return () => document.removeEventListener("visibilitychange", cb);
}

/** Whether the window is shown; work that only feeds the screen can wait while it is not. */
export function useDocumentVisible(): boolean {
  return useSyncExternalStore(subscribeVisibility, () => document.visibilityState !== "hidden", () => true);
}

/**
 * The current time, read again when `nextChangeIn(now)` says the caller's text changes (never
 * while the window is hidden; at once when it is shown again). `Infinity` means never.
 */
export function useNow(nextChangeIn: (now: number) => number): number {
  const [now, setNow] = useState(() => Date.now());
  const visible = useDocumentVisible();
  const wait = nextChangeIn(now);
  useEffect(() => {
    if (!visible) return;
    const late = Date.now();
    // Shown again after a while: what was on screen is stale now.
    if (late - now >= wait) {
      setNow(late);
      return;
    }
    if (!Number.isFinite(wait)) return;
    const t = setTimeout(() => setNow(Date.now()), Math.max(0, now + wait - late));
    return () => clearTimeout(t);
  }, [now, wait, visible]);
  return now;
}

/** A steady tick, for what changes continuously while it is shown (a running job's rate). */
export function useTicking(periodMs: number): number {
  return useNow(() => periodMs);
}

/** Milliseconds until `when` (format of PlanCard: "in 2 h 5 min", then "3 s ago") reads differently. */
export function untilNextChangeIn(ms: number, now: number): number {
  if (ms <= now) return agoNextChangeIn(ms, now);
  const left = ms - now;
  const r = Math.round(left / 1000);
  // `duration` floors: minutes under a day, hours beyond.
  const unit = r >= 86400 ? 3600 : 60;
  const edge = Math.floor(r / unit) * unit;
  return Math.max(1, Math.min(left, left - (edge - 0.5) * 1000 + 1));
}
