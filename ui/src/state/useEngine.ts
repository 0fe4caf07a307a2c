import { useCallback, useEffect, useRef, useState } from "react";
import type { Snapshot } from "../bindings/Snapshot";
import type { Event } from "../bindings/Event";
import type { SeriesResult } from "../bindings/SeriesResult";
import { asCommandError, platform, type CommandError } from "../platform";
import { appendLive, type Range } from "./series";
import { emitEngineEvent, useEngineEvent } from "./bus";

/** Folds one engine event into the snapshot. Only copies what the engine said. */
export function applyEvent(s: Snapshot, e: Event): Snapshot {
  switch (e.type) {
    case "host_sample":
      return { ...s, host: e.sample, engine: { ...s.engine, last_sample_ms: e.sample.ts_ms } };
    case "engine_status":
      return { ...s, engine: e.status };
    case "check_result":
      return { ...s, checks: s.checks.map((c) => (c.config.name === e.result.service_name ? { ...c, latest: e.result } : c)) };
    case "checks_changed":
      return { ...s, checks: e.checks };
    case "alert_changed": {
      const others = s.alerts.filter((a) => a.id !== e.alert.id);
      const alerts = e.alert.status === "resolved" ? others : [e.alert, ...others];
      return { ...s, alerts };
    }
    case "notifications_paused":
      return { ...s, notifications_paused_until: e.until_ms };
    default:
      return s;
  }
}

/** First paint from `snapshot()`, then follow events; never poll what an event tells. */
export function useEngine() {
  const [snapshot, setSnapshot] = useState<Snapshot | null>(null);
  const [error, setError] = useState<CommandError | null>(null);

  const load = useCallback(async () => {
    try {
      const p = await platform();
      setSnapshot(await p.call("snapshot", {}));
      setError(null);
    } catch (e) {
      setError(asCommandError(e));
    }
  }, []);

  useEffect(() => {
    let unlisten: Array<() => void> = [];
    let cancelled = false;
    (async () => {
      const p = await platform();
      const offEvent = await p.onEvent((e) => {
        setSnapshot((s) => (s ? applyEvent(s, e) : s));
        emitEngineEvent(e);
      });
      const offResync = await p.onResync(() => void load());
      unlisten = [offEvent, offResync];
      if (cancelled) unlisten.forEach((f) => f());
      await load();
    })();
    return () => {
      cancelled = true;
      unlisten.forEach((f) => f());
    };
  }, [load]);

  return { snapshot, error, reload: load };
}

/** Chart data for a range: one query, then live points appended (live range) or a re-query
 * once a minute of new samples has passed (rollup ranges, whose buckets only change per minute). */
export function useSeries(range: Range) {
  const [result, setResult] = useState<SeriesResult | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const queriedAt = useRef(0);
  const rangeRef = useRef(range);

  const query = useCallback(async (r: Range) => {
    try {
      const p = await platform();
      const res = await p.call("query_series", { query: { metrics: [], range_secs: r.secs } });
      if (rangeRef.current.id === r.id) {
        queriedAt.current = Date.now();
        setResult(res);
        setError(null);
      }
    } catch (e) {
      setError(asCommandError(e));
    }
  }, []);

  useEffect(() => {
    rangeRef.current = range;
    setResult(null);
    void query(range);
  }, [range, query]);

  useEngineEvent((e) => {
    if (e.type !== "host_sample") return;
    if (range.live) {
      setResult((r) => (r ? appendLive(r, e.points, e.sample.ts_ms, range.secs * 1000) : r));
    } else if (Date.now() - queriedAt.current >= 60_000) {
      void query(range);
    }
  });

  return { result, error };
}
