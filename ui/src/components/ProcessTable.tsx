import { memo } from "react";
import type { ProcessSample } from "../bindings/ProcessSample";
import { bytes } from "../format";

export const ProcessTable = memo(function ProcessTable({ title, rows, testId }: { title: string; rows: ProcessSample[]; testId?: string }) {
  return (
    <div className="card" data-testid={testId}>
      <div className="card-title">{title}</div>
      <table className="procs">
        <thead>
          <tr>
            <th>Process</th>
            <th className="num">PID</th>
            <th className="num">CPU</th>
            <th className="num">Memory</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((p) => (
            <tr key={p.pid}>
              <td className="name" title={p.name}>{p.name}</td>
              <td className="num dim">{p.pid}</td>
              <td className="num">{p.cpu_percent.toFixed(1)} %</td>
              <td className="num">{bytes(p.memory_bytes)}</td>
            </tr>
          ))}
          {rows.length === 0 && (
            <tr>
              <td colSpan={4} className="dim">Nothing sampled yet</td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
});
