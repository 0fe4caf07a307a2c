import { describe, expect, it } from "vitest";
import { appendLive, toAligned } from "./series";
import type { SeriesResult } from "../bindings/SeriesResult";

const base: SeriesResult = {
  resolution: "raw", step_ms: 5000, since_ms: 0, until_ms: 10000,
  series: [{ metric: "cpu_usage_percent", labels: "", unit: "percent", ts: [0, 5000, 10000], values: [1, 2, 3] }],
};

describe("appendLive", () => {
  it("appends new points and drops those outside the window", () => {
    const r = appendLive(base, [{ metric: "cpu_usage_percent", labels: "", unit: "percent", value: 4 }], 15000, 10000);
    expect(r.series[0].ts).toEqual([5000, 10000, 15000]);
    expect(r.series[0].values).toEqual([2, 3, 4]);
    expect(base.series[0].ts).toEqual([0, 5000, 10000]);
  });
  it("starts a series it has not seen", () => {
    const r = appendLive(base, [{ metric: "memory_used_percent", labels: "", unit: "percent", value: 50 }], 15000, 60000);
    expect(r.series.find((s) => s.metric === "memory_used_percent")?.values).toEqual([50]);
  });
  it("ignores a point that is not newer than the last", () => {
    const r = appendLive(base, [{ metric: "cpu_usage_percent", labels: "", unit: "percent", value: 9 }], 10000, 60000);
    expect(r.series[0].values).toEqual([1, 2, 3]);
  });
});

describe("toAligned", () => {
  it("breaks the line over a gap longer than three steps", () => {
    const r: SeriesResult = { ...base, series: [{ metric: "m", labels: "", unit: "", ts: [0, 5000, 60000], values: [1, 2, 3] }] };
    const d = toAligned(r, [{ metric: "m", labels: "", label: "m", color: "red" }]);
    expect(d[0]).toEqual([0, 5, 5.001, 60]);
    expect(d[1]).toEqual([1, 2, null, 3]);
  });

  it("aligns series on shared x in seconds, null where missing", () => {
    const r: SeriesResult = { ...base, series: [...base.series, { metric: "m", labels: "", unit: "", ts: [5000], values: [7] }] };
    const d = toAligned(r, [
      { metric: "cpu_usage_percent", labels: "", label: "cpu", color: "red" },
      { metric: "m", labels: "", label: "m", color: "blue" },
    ]);
    expect(d[0]).toEqual([0, 5, 10]);
    expect(d[1]).toEqual([1, 2, 3]);
    expect(d[2]).toEqual([null, 7, null]);
  });
});
