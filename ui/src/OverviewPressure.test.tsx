import { cleanup, render, waitFor } from "@testing-library/react";
import { createElement, type ComponentProps } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import { setPlatform } from "./platform";
import { fakeSnapshot } from "./platform/preview";
import { TypedFakePlatform } from "./testing/fakePlatform";

// The lines each chart was last given, by its test id.
const lines = vi.hoisted(() => new Map<string, string[]>());

vi.mock("uplot", () => ({ default: class { setData() {} setSize() {} destroy() {} } }));
vi.mock("./components/TimeChart", async (original) => {
  const m = await original<typeof import("./components/TimeChart")>();
  return {
    TimeChart: (p: ComponentProps<typeof m.TimeChart>) => {
      lines.set(p.testId ?? "", p.lines.map((l) => `${l.metric} ${l.labels}`.trim()));
      return createElement(m.TimeChart, p);
    },
  };
});

globalThis.ResizeObserver ??= class {
  observe() {}
  disconnect() {}
  unobserve() {}
} as unknown as typeof ResizeObserver;

afterEach(() => {
  cleanup();
  lines.clear();
});

const noSeries = () => ({ resolution: "raw" as const, step_ms: 5000, since_ms: 0, until_ms: 1, series: [] });

describe("the memory chart", () => {
  it("draws Linux memory pressure beside used memory and swap, and only where it is reported", async () => {
    const snap = fakeSnapshot(Date.now());
    if (snap.host) snap.host.memory.pressure = { source: "psi", some: { avg10: 1, avg60: 2, avg300: 3, total_us: 4 }, full: null };
    setPlatform(new TypedFakePlatform({ snapshot: () => snap, query_series: noSeries }));
    render(<App />);
    await waitFor(() =>
      expect(lines.get("chart-memory")).toEqual(["memory_used_percent", "swap_used_percent", "memory_pressure_some_percent window=60s"]),
    );

    cleanup();
    lines.clear();
    setPlatform(new TypedFakePlatform({ query_series: noSeries }));
    render(<App />);
    await waitFor(() => expect(lines.get("chart-memory")).toEqual(["memory_used_percent", "swap_used_percent"]));
  });
});
