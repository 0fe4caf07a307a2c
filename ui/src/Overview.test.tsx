import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import { createElement, memo, type ComponentProps, type ReactNode } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import { setPlatform } from "./platform";
import { fakeSample } from "./platform/preview";
import { TypedFakePlatform } from "./testing/fakePlatform";

// How often each part of the Overview rendered. The cards keep their own memo() around a counter,
// so these counts say whether what the Overview hands them stays the same across an event.
const renders = vi.hoisted(() => ({ overview: 0, alerts: 0, services: 0, capabilities: 0, charts: 0 }));

vi.mock("uplot", () => ({ default: class { setData() {} setSize() {} destroy() {} } }));
vi.mock("./Overview", async (original) => {
  const m = await original<typeof import("./Overview")>();
  return { Overview: (p: ComponentProps<typeof m.Overview>) => (renders.overview++, createElement(m.Overview, p)) };
});
vi.mock("./OverviewCards", async (original) => {
  const m = await original<typeof import("./OverviewCards")>();
  // memo() keeps the plain function as `type`; the counter calls it inside a memo of its own.
  const counted = (inner: unknown, k: keyof typeof renders) => {
    const render = (inner as { type: (p: object) => ReactNode }).type;
    return memo((p: object) => (renders[k]++, render(p)));
  };
  return { AlertsCard: counted(m.AlertsCard, "alerts"), ServicesCard: counted(m.ServicesCard, "services"), Capabilities: counted(m.Capabilities, "capabilities"), Volumes: m.Volumes, forecastWords: m.forecastWords };
});
vi.mock("./components/TimeChart", async (original) => {
  const m = await original<typeof import("./components/TimeChart")>();
  return { TimeChart: memo((p: ComponentProps<typeof m.TimeChart>) => (renders.charts++, createElement(m.TimeChart, p))) };
});

globalThis.ResizeObserver ??= class {
  observe() {}
  disconnect() {}
  unobserve() {}
} as unknown as typeof ResizeObserver;

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe("Volumes", () => {
  it("says when each disk is full at the last week's pace, and stays quiet about a steady one", async () => {
    const p = new TypedFakePlatform({
      query_series: () => ({ resolution: "raw", step_ms: 5000, since_ms: 0, until_ms: 1, series: [] }),
      disk_forecasts: () => [{ mount_point: "/", used_bytes: 400e9, total_bytes: 500e9, growth_bytes_per_day: 9 * 2 ** 30, days_to_full: 11.2, hours: 168 }],
    });
    setPlatform(p);
    render(<App />);
    const trend = await screen.findByTestId("volume-trend");
    expect(trend.textContent).toBe("Full in about 11 days at 9.0 GiB a day");
    expect(trend.className).toBe("warn-text");
  });

  it("words every state of a trend", async () => {
    const { forecastWords } = await import("./OverviewCards");
    const f = { mount_point: "/", used_bytes: 1, total_bytes: 2, growth_bytes_per_day: 0, days_to_full: null, hours: 30 };
    expect(forecastWords(undefined).text).toBe("Trend after a day of history");
    expect(forecastWords({ ...f, growth_bytes_per_day: null }).text).toBe("Trend after a day of history");
    expect(forecastWords(f)).toEqual({ text: "Steady", warn: false });
    expect(forecastWords({ ...f, growth_bytes_per_day: -5 }).text).toBe("Freeing up");
    expect(forecastWords({ ...f, growth_bytes_per_day: 2 ** 30, days_to_full: 0.25 })).toEqual({ text: "Full in about 6 hours at 1.0 GiB a day", warn: true });
    expect(forecastWords({ ...f, growth_bytes_per_day: 1e9, days_to_full: 40 }).warn).toBe(false);
  });
});

describe("Overview at rest", () => {
  it("renders nothing while time passes, and a sample re-renders only what it changed", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const p = new TypedFakePlatform({
      query_series: () => ({ resolution: "raw", step_ms: 5000, since_ms: 0, until_ms: 1, series: [] }),
    });
    setPlatform(p);
    render(<App />);
    await waitFor(() => expect(screen.getByTestId("cpu-value").textContent).toBe("12 %"));
    await waitFor(() => expect(p.count("query_series")).toBe(1));
    await act(async () => void (await vi.advanceTimersByTimeAsync(100)));
    const before = { ...renders };

    await act(async () => void (await vi.advanceTimersByTimeAsync(10_000)));
    expect(renders).toEqual(before);

    act(() => p.emit({ type: "host_sample", sample: fakeSample(Date.now(), 42.5), points: [{ metric: "cpu_usage_percent", labels: "", unit: "percent", value: 42.5 }] }));
    expect(screen.getByTestId("cpu-value").textContent).toBe("43 %");
    expect(renders.overview).toBe(before.overview + 1);
    expect([renders.alerts, renders.services, renders.capabilities]).toEqual([before.alerts, before.services, before.capabilities]);
  });

  it("renders nothing while the window is hidden, and is current once it is shown", async () => {
    const p = new TypedFakePlatform({
      query_series: () => ({ resolution: "raw", step_ms: 5000, since_ms: 0, until_ms: 1, series: [] }),
    });
    setPlatform(p);
    render(<App />);
    await waitFor(() => expect(screen.getByTestId("cpu-value").textContent).toBe("12 %"));
    await waitFor(() => expect(p.count("query_series")).toBe(1));
    const state = vi.spyOn(document, "visibilityState", "get").mockReturnValue("hidden");
    act(() => void document.dispatchEvent(new Event("visibilitychange")));
    const before = renders.overview;

    act(() => p.emit({ type: "host_sample", sample: fakeSample(Date.now(), 42.5), points: [] }));
    expect(renders.overview).toBe(before);
    expect(screen.getByTestId("cpu-value").textContent).toBe("12 %");

    state.mockReturnValue("visible");
    act(() => void document.dispatchEvent(new Event("visibilitychange")));
    expect(screen.getByTestId("cpu-value").textContent).toBe("43 %");
    // The live chart missed points while hidden: it reads its range again.
    await waitFor(() => expect(p.count("query_series")).toBe(2));
    state.mockRestore();
  });
});
