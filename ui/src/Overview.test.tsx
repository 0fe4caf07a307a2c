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
  return { AlertsCard: counted(m.AlertsCard, "alerts"), ServicesCard: counted(m.ServicesCard, "services"), Capabilities: counted(m.Capabilities, "capabilities") };
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
