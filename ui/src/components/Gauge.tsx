import { memo } from "react";

interface Props {
  label: string;
  percent: number | null;
  value: string;
  detail?: string;
  testId?: string;
  /** When the value was sampled; lets a test see each update even when the text repeats. */
  stamp?: number;
}

/** A ring that fills with the value; colour steps at 75 % and 90 %. */
export const Gauge = memo(function Gauge({ label, percent, value, detail, testId, stamp }: Props) {
  const r = 42;
  const c = 2 * Math.PI * r;
  const p = percent === null ? 0 : Math.max(0, Math.min(100, percent));
  const level = p >= 90 ? "crit" : p >= 75 ? "warn" : "ok";
  return (
    <div className="card gauge">
      <svg viewBox="0 0 100 100" className="ring" aria-hidden="true">
        <circle cx="50" cy="50" r={r} className="ring-bg" />
        {percent !== null && (
          <circle cx="50" cy="50" r={r} className={`ring-fg ${level}`} strokeDasharray={`${(p / 100) * c} ${c}`} transform="rotate(-90 50 50)" />
        )}
      </svg>
      <div className="gauge-text">
        <div className="gauge-label">{label}</div>
        <div className="gauge-value" data-testid={testId} data-ts={stamp}>
          {value}
        </div>
        {detail && <div className="gauge-detail">{detail}</div>}
      </div>
    </div>
  );
});
