// Used when the page is opened in a plain browser (`npm run dev`) and by UI tests: it answers
// like the engine, with the shapes the engine's bindings define, so the UI can be worked on
// without the desktop shell.
import type { Event } from "../bindings/Event";
import type { HostSample } from "../bindings/HostSample";
import type { Snapshot } from "../bindings/Snapshot";
import type { CommandHandlers, Platform } from "./index";

export function fakeSample(ts: number, cpu: number): HostSample {
  const gib = 1024 ** 3;
  return {
    ts_ms: ts,
    hostname: "preview-mac-mini",
    uptime_secs: 86400 * 3,
    cpu: { total_percent: cpu, per_core_percent: [cpu, cpu / 2] },
    load: { one: 0.4, five: 0.3, fifteen: 0.2 },
    memory: { total_bytes: 16 * gib, used_bytes: 9 * gib, available_bytes: 7 * gib, swap_total_bytes: 2 * gib, swap_used_bytes: 0.1 * gib },
    disks: [{ name: "disk1", mount_point: "/", file_system: "apfs", total_bytes: 500 * gib, used_bytes: 200 * gib, available_bytes: 300 * gib, used_percent: 40, read_bytes_per_sec: 1e5, write_bytes_per_sec: 2e5, removable: false }],
    networks: [{ interface: "en0", rx_bytes_per_sec: 5e4, tx_bytes_per_sec: 1e4 }],
    network_total: { interface: "all", rx_bytes_per_sec: 5e4, tx_bytes_per_sec: 1e4 },
    temperatures: [],
    top_cpu: [{ pid: 42, name: "ollama", cpu_percent: 12.5, memory_bytes: 2 * gib }],
    top_memory: [{ pid: 42, name: "ollama", cpu_percent: 12.5, memory_bytes: 2 * gib }],
  };
}

export function fakeSnapshot(now: number): Snapshot {
  return {
    checks: [],
    alerts: [],
    worst: null,
    notifications_paused_until: null,
    engine: { version: "preview", pid: 1, data_dir: "(preview)", state: "running", started_ms: now - 60000, metrics_interval_secs: 5, last_sample_ms: now, last_error: null },
    host: fakeSample(now, 12),
    capabilities: [
      { id: "metrics", name: "Host metrics", available: true, summary: "CPU, memory, disks, network." },
      { id: "backups", name: "Backups", available: true, summary: "Scheduled, verified backups." },
    ],
  };
}

export function browserPreviewPlatform(): Platform {
  const listeners = new Set<(e: Event) => void>();
  setInterval(() => {
    const s = fakeSample(Date.now(), 10 + Math.random() * 20);
    const points = [{ metric: "cpu_usage_percent", labels: "", unit: "percent", value: s.cpu.total_percent }];
    listeners.forEach((cb) => cb({ type: "host_sample", sample: s, points }));
  }, 2000);
  const answers: CommandHandlers = {
    snapshot: () => fakeSnapshot(Date.now()),
    query_series: ({ query }) => {
      const now = Date.now();
      const ts = Array.from({ length: 60 }, (_, i) => now - query.range_secs * 1000 + (i * query.range_secs * 1000) / 60);
      return {
        resolution: "raw", step_ms: 5000, since_ms: now - query.range_secs * 1000, until_ms: now,
        series: [{ metric: "cpu_usage_percent", labels: "", unit: "percent", ts, values: ts.map((_, i) => 10 + 5 * Math.sin(i / 5)) }],
      };
    },
    list_checks: () => [],
    list_alerts: () => [],
    check_history: () => [],
    list_runbooks: () => [],
    maintenance_history: () => [],
    search_logs: () => [],
    tail_logs: () => [],
    healing_actions: () => [],
    healing_overview: () => ({ max_actions_per_hour: 5, runs_last_hour: 0, actions: [] }),
    healing_log: () => [],
    pending_escalations: () => [],
    analysis_scans: () => [],
    list_findings: () => [],
    list_models: () => [],
    list_detectors: () => [],
    backup_snapshots: () => [],
    backups_overview: () => ({ plans: [], job: null, history: [], macos: false, time_machine: null }),
    suggest_backup_password: () => "preview-only-password",
    maintenance_status: () => ({ running: null, last_run: null, next_run_ms: null, tasks: [] }),
  };
  return {
    async call(cmd, req) {
      const answer = answers[cmd];
      // The rest answer nothing in the preview, as most of them do in the shell.
      return answer ? answer(req) : (null as never);
    },
    async onEvent(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    async onResync() {
      return () => {};
    },
    async onConnection() {
      return () => {};
    },
    async onNavigate() {
      return () => {};
    },
  };
}
