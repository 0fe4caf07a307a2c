import { act, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Event } from "./bindings/Event";
import { App } from "./App";
import { setPlatform, type Platform } from "./platform";
import { fakeSample, fakeSnapshot } from "./platform/preview";

// uPlot draws on a canvas, which jsdom has not; the chart's data path is tested in series.test.ts.
vi.mock("uplot", () => ({
  default: class {
    setData() {}
    setSize() {}
    destroy() {}
  },
}));

class FakePlatform implements Platform {
  listeners = new Set<(e: Event) => void>();
  calls: string[] = [];
  snapshotError: unknown = null;
  async call(cmd: string, req: unknown) {
    this.calls.push(cmd);
    if (cmd === "snapshot") {
      if (this.snapshotError) throw this.snapshotError;
      return fakeSnapshot(Date.now()) as never;
    }
    const q = (req as { query: { range_secs: number } }).query;
    return { resolution: q.range_secs > 3600 ? "minute" : "raw", step_ms: 5000, since_ms: 0, until_ms: 1, series: [] } as never;
  }
  async onEvent(cb: (e: Event) => void) {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
  async onResync() {
    return () => {};
  }
  emit(e: Event) {
    this.listeners.forEach((cb) => cb(e));
  }
}

globalThis.ResizeObserver ??= class {
  observe() {}
  disconnect() {}
  unobserve() {}
} as unknown as typeof ResizeObserver;

afterEach(() => vi.restoreAllMocks());

describe("App", () => {
  it("paints from the snapshot, then follows events", async () => {
    const p = new FakePlatform();
    setPlatform(p);
    render(<App />);
    await waitFor(() => expect(screen.getByTestId("cpu-value").textContent).toBe("12 %"));
    expect(screen.getByText("preview-mac-mini")).toBeTruthy();
    expect(screen.getByTestId("capability-backups").textContent).toContain("Coming soon");

    const s = fakeSample(Date.now(), 42.5);
    act(() => p.emit({ type: "host_sample", sample: s, points: [] }));
    await waitFor(() => expect(screen.getByTestId("cpu-value").textContent).toBe("43 %"));
    expect(screen.getByTestId("cpu-value").getAttribute("data-ts")).toBe(String(s.ts_ms));
    // Events replace polling: only one snapshot call was made.
    expect(p.calls.filter((c) => c === "snapshot")).toHaveLength(1);
  });

  it("shows why the engine could not start, with its kind", async () => {
    const p = new FakePlatform();
    p.snapshotError = { kind: "invalid_config", message: "metrics.interval_secs: must be between 1 and 3600 (got 0)" };
    setPlatform(p);
    render(<App />);
    await waitFor(() => expect(screen.getByTestId("engine-error").textContent).toContain("metrics.interval_secs"));
    expect(screen.getByTestId("engine-error").textContent).toContain("invalid config");
  });
});
