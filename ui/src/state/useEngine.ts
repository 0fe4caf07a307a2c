import { useCallback, useEffect, useRef, useState } from "react";
import type { Snapshot } from "../bindings/Snapshot";
import type { Event } from "../bindings/Event";
import { asCommandError, platform, type CommandError, type EngineConnection } from "../platform";
import { appendLive, type Range } from "./series";
import { emitEngineEvent, useEngineEvent } from "./bus";
import { call, useCommand } from "./useCommand";
import { useDocumentVisible } from "./clock";

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
  const [shown, setShown] = useState<Snapshot | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const [connection, setConnection] = useState<EngineConnection>({ connected: true, message: null });
  // Events fold into `latest` always; a hidden window shows nothing, so it renders nothing until
  // it is shown again, and then once.
  const latest = useRef<Snapshot | null>(null);
  const visible = useDocumentVisible();
  const visibleRef = useRef(visible);
  visibleRef.current = visible;
  const setSnapshot = useCallback((next: (s: Snapshot | null) => Snapshot | null) => {
    const s = next(latest.current);
    if (s === latest.current) return;
    latest.current = s;
    if (visibleRef.current) setShown(s);
  }, []);
  useEffect(() => {
    if (visible) setShown(latest.current);
  }, [visible]);

  const load = useCallback(async () => {
    try {
      const s = await call("snapshot", {});
      setSnapshot(() => s);
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
      const offConnection = await p.onConnection(setConnection);
      unlisten = [offEvent, offResync, offConnection];
      if (cancelled) unlisten.forEach((f) => f());
      await load();
    })();
    return () => {
      cancelled = true;
      unlisten.forEach((f) => f());
    };
  }, [load, setSnapshot]);

  return { snapshot: shown, error, reload: load, connection };
}

/** Chart data for a range: one query, then live points appended (live range) or a re-query
 * once a minute of new samples has passed (rollup ranges, whose buckets only change per minute). */
export function useSeries(range: Range) {
  const series = useCommand("query_series", { query: { metrics: [], range_secs: range.secs } });
  const queriedAt = useRef(Date.now());
  useEffect(() => {
    queriedAt.current = Date.now();
  }, [range.id]);

  // Live points that arrive while the window is hidden are not drawn: the chart reads the
  // range again when it is shown.
  const visible = useDocumentVisible();
  const missed = useRef(false);
  const refetch = series.refetch;
  useEffect(() => {
    if (visible && missed.current) {
      missed.current = false;
      queriedAt.current = Date.now();
      void refetch();
    }
  }, [visible, refetch]);

  useEngineEvent((e) => {
    if (e.type !== "host_sample") return;
    if (!visible) {
      missed.current = true;
    } else if (range.live) {
      series.setData((r) => (r ? appendLive(r, e.points, e.sample.ts_ms, range.secs * 1000) : r));
    } else if (Date.now() - queriedAt.current >= 60_000) {
      queriedAt.current = Date.now();
      void series.refetch();
    }
  });

  return { result: series.data, error: series.error };
}
