import { useMemo, useState } from "react";
import type { Snapshot } from "./bindings/Snapshot";
import { Gauge } from "./components/Gauge";
import { ProcessTable } from "./components/ProcessTable";
import { TimeChart } from "./components/TimeChart";
import { bytes, duration, pct, rate } from "./format";
import { RANGES, type LineSpec } from "./state/series";
import { useSeries } from "./state/useEngine";
import { ErrorNote } from "./components/ErrorNote";
import { cssVar } from "./theme";
import { AlertsCard, Capabilities, ServicesCard, Volumes } from "./OverviewCards";
import { CareCard } from "./OverviewCare";
import { ServiceQuestion } from "./settings/BackgroundService";


export function Overview({ snapshot, onOpen }: { snapshot: Snapshot; onOpen: (page: "services" | "alerts" | "backups" | "monitor") => void }) {
  const [rangeId, setRangeId] = useState("15m");
  const range = RANGES.find((r) => r.id === rangeId) ?? RANGES[0];
  const { result, error } = useSeries(range);
  const h = snapshot.host;
  const mainDisk = h?.disks.find((d) => d.mount_point === "/System/Volumes/Data") ?? h?.disks.find((d) => d.mount_point === "/") ?? h?.disks[0];
  const mountLabel = mainDisk ? `mount=${mainDisk.mount_point}` : "";
  // Linux PSI is a percentage and shares the memory chart; macOS's level (0–2) is stored, not drawn here.
  const psi = h?.memory.pressure?.source === "psi";

  const charts = useMemo(() => {
    const C = { a: cssVar("--chart-a"), b: cssVar("--chart-b"), c: cssVar("--chart-c"), d: cssVar("--chart-d"), e: cssVar("--chart-e") };
    const cpu: LineSpec[] = [{ metric: "cpu_usage_percent", labels: "", label: "CPU", color: C.a }];
    const mem: LineSpec[] = [
      { metric: "memory_used_percent", labels: "", label: "Memory", color: C.e },
      { metric: "swap_used_percent", labels: "", label: "Swap", color: C.b },
      ...(psi ? [{ metric: "memory_pressure_some_percent", labels: "window=60s", label: "Pressure", color: C.c }] : []),
    ];
    const net: LineSpec[] = [
      { metric: "network_receive_bytes_per_second", labels: "", label: "Down", color: C.c },
      { metric: "network_transmit_bytes_per_second", labels: "", label: "Up", color: C.a },
    ];
    const diskIo: LineSpec[] = [
      { metric: "disk_read_bytes_per_second", labels: mountLabel, label: "Read", color: C.c },
      { metric: "disk_write_bytes_per_second", labels: mountLabel, label: "Write", color: C.d },
    ];
    const diskUsed: LineSpec[] = (h?.disks ?? []).slice(0, 4).map((d, i) => ({
      metric: "disk_used_percent",
      labels: `mount=${d.mount_point}`,
      label: d.mount_point,
      color: [C.b, C.a, C.c, C.e][i],
    }));
    const load: LineSpec[] = [
      { metric: "load_average", labels: "window=1m", label: "1 min", color: C.a },
      { metric: "load_average", labels: "window=5m", label: "5 min", color: C.b },
      { metric: "load_average", labels: "window=15m", label: "15 min", color: C.e },
    ];
    // The hottest sensors the machine reports (none in most VMs: then no chart).
    const temps: LineSpec[] = [...(h?.temperatures ?? [])]
      .sort((a, b) => b.celsius - a.celsius)
      .slice(0, 4)
      .map((t, i) => ({ metric: "temperature_celsius", labels: `sensor=${t.label}`, label: t.label, color: [C.d, C.b, C.c, C.a][i] }));
    return { cpu, mem, net, diskIo, diskUsed, load, temps };
    // Disk list changes rarely; rebuild charts when the set of mounts changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [mountLabel, psi, h?.disks.map((d) => d.mount_point).join(","), h?.temperatures.map((t) => t.label).sort().join(",")]);

  const hottest = h?.temperatures.reduce<null | { label: string; celsius: number }>((m, t) => (m && m.celsius >= t.celsius ? m : t), null);

  return (
    <div className="overview">
      <ServiceQuestion />
      <section className="gauges">
        <Gauge label="CPU" testId="cpu-value" stamp={h?.ts_ms} percent={h ? h.cpu.total_percent : null} value={h ? pct(h.cpu.total_percent) : "–"}
          detail={h ? `${h.cpu.per_core_percent.length} cores${h.load ? ` · load ${h.load.one.toFixed(2)}` : ""}` : undefined} />
        <Gauge label="Memory" testId="memory-value" percent={h ? (h.memory.used_bytes * 100) / Math.max(1, h.memory.total_bytes) : null}
          value={h ? pct((h.memory.used_bytes * 100) / Math.max(1, h.memory.total_bytes)) : "–"}
          detail={h ? `${bytes(h.memory.used_bytes)} of ${bytes(h.memory.total_bytes)}` : undefined} />
        <Gauge label={mainDisk ? `Disk ${mainDisk.mount_point}` : "Disk"} testId="disk-value" percent={mainDisk ? mainDisk.used_percent : null}
          value={mainDisk ? pct(mainDisk.used_percent) : "–"} detail={mainDisk ? `${bytes(mainDisk.available_bytes)} free` : undefined} />
        <div className="card stat">
          <div className="gauge-label">Network</div>
          <div className="stat-row"><span className="arrow down">↓</span><span data-testid="net-down">{h ? rate(h.network_total.rx_bytes_per_sec) : "–"}</span></div>
          <div className="stat-row"><span className="arrow up">↑</span><span>{h ? rate(h.network_total.tx_bytes_per_sec) : "–"}</span></div>
        </div>
        <div className="card stat">
          <div className="gauge-label">System</div>
          <div className="stat-row">Up {h ? duration(h.uptime_secs) : "–"}</div>
          <div className="stat-row">{hottest ? `${hottest.celsius.toFixed(0)} °C ${hottest.label}` : "No temperature sensors readable"}</div>
          <div className="stat-row dim">Swap {h ? bytes(h.memory.swap_used_bytes) : "–"}</div>
        </div>
      </section>

      <section className="status-row">
        <AlertsCard alerts={snapshot.alerts} onOpen={onOpen} />
        <ServicesCard checks={snapshot.checks} onOpen={onOpen} />
        <CareCard onOpen={onOpen} />
      </section>

      <section className="range-bar">
        <h2>History</h2>
        <div className="segmented" role="tablist">
          {RANGES.map((r) => (
            <button key={r.id} role="tab" aria-selected={r.id === range.id} data-testid={`range-${r.id}`} className={r.id === range.id ? "on" : ""} onClick={() => setRangeId(r.id)}>
              {r.label}{r.live ? " · live" : ""}
            </button>
          ))}
        </div>
        <ErrorNote error={error} />
      </section>

      <section className="charts">
        <TimeChart title="CPU" unit="percent" max={100} lines={charts.cpu} result={result} testId="chart-cpu" />
        <TimeChart title="Memory and swap" unit="percent" max={100} lines={charts.mem} result={result} testId="chart-memory" />
        <TimeChart title="Network" unit="bytes_per_second" lines={charts.net} result={result} testId="chart-network" />
        <TimeChart title={`Disk I/O ${mainDisk?.mount_point ?? ""}`} unit="bytes_per_second" lines={charts.diskIo} result={result} testId="chart-disk-io" />
        <TimeChart title="Disk space used" unit="percent" max={100} lines={charts.diskUsed} result={result} testId="chart-disk" />
        <TimeChart title="Load average" unit="" lines={charts.load} result={result} testId="chart-load" />
        {charts.temps.length > 0 && <TimeChart title="Temperature" unit="celsius" lines={charts.temps} result={result} testId="chart-temperature" />}
      </section>

      <section className="tables">
        <ProcessTable title="Top processes by CPU" rows={h?.top_cpu ?? []} testId="top-cpu" />
        <ProcessTable title="Top processes by memory" rows={h?.top_memory ?? []} testId="top-memory" />
        <Volumes disks={h?.disks ?? []} />
      </section>

      <Capabilities capabilities={snapshot.capabilities} />
    </div>
  );
}
