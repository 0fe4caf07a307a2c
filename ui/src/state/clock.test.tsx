import { act, cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Ago } from "../components/Ago";
import { EngineHealth, timeOfDay } from "../components/EngineHealth";
import type { EngineStatus } from "../bindings/EngineStatus";
import { ago, duration } from "../format";
import { agoNextChangeIn, minutesLeftNextChangeIn, untilNextChangeIn } from "./clock";

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const until = (ms: number, now: number) => (ms <= now ? ago(ms, now) : `in ${duration(Math.round((ms - now) / 1000))}`);
const snoozeLeft = (u: number, now: number) => (u > now ? Math.ceil((u - now) / 60000) : "off");

// For each age: the label stays the same up to the announced change and differs at it.
function assertWakesExactlyAtChange(text: (now: number) => string | number, next: (now: number) => number, nows: number[]) {
  for (const now of nows) {
    const d = next(now);
    expect(text(now + d - 1), `at ${now - T0} ms`).toBe(text(now));
    expect(text(now + d), `at ${now - T0} ms`).not.toBe(text(now));
  }
}

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe("when relative labels change", () => {
  const ages = [0, 499, 500, 1200, 59_400, 59_600, 61_000, 89_400, 125_000, 3_569_000, 3_590_000, 3_601_000, 5_399_000, 90_000_000];

  it("an age wakes at its next second, minute or hour, never sooner", () => {
    assertWakesExactlyAtChange((n) => ago(T0, n), (n) => agoNextChangeIn(T0, n), ages.map((a) => T0 + a));
    expect(agoNextChangeIn(T0, T0 + 125_000)).toBe(24_500);
  });

  it("a time ahead wakes when its minute (or hour, beyond a day) changes, then counts up", () => {
    const lefts = [90_000_000, 86_400_400, 86_399_000, 7_260_000, 61_000, 59_000, 400, 1];
    assertWakesExactlyAtChange((n) => until(T0, n), (n) => untilNextChangeIn(T0, n), lefts.map((l) => T0 - l));
  });

  it("a snooze wakes when its whole minutes left change, and not after it ended", () => {
    assertWakesExactlyAtChange((n) => snoozeLeft(T0, n), (n) => minutesLeftNextChangeIn(T0, n), [T0 - 150_000, T0 - 120_000, T0 - 30_000]);
    expect(minutesLeftNextChangeIn(T0, T0)).toBe(Infinity);
  });
});

describe("labels that keep themselves current", () => {
  it("an age label counts seconds, then minutes", () => {
    vi.useFakeTimers({ now: T0 });
    render(<p data-testid="l">seen <Ago ms={T0} /></p>);
    expect(screen.getByTestId("l").textContent).toBe("seen 0 s ago");
    act(() => void vi.advanceTimersByTime(3_000));
    expect(screen.getByTestId("l").textContent).toBe("seen 3 s ago");
    act(() => void vi.advanceTimersByTime(87_000));
    expect(screen.getByTestId("l").textContent).toBe("seen 2 min ago");
    // Minutes do not need a timer every second.
    expect(vi.getTimerCount()).toBe(1);
  });

  it("an age label waits while the window is hidden and is current when it is shown", () => {
    vi.useFakeTimers({ now: T0 });
    const state = vi.spyOn(document, "visibilityState", "get").mockReturnValue("visible");
    render(<p data-testid="l"><Ago ms={T0} /></p>);
    state.mockReturnValue("hidden");
    act(() => void document.dispatchEvent(new Event("visibilitychange")));
    expect(vi.getTimerCount()).toBe(0);
    act(() => void vi.advanceTimersByTime(300_000));
    expect(screen.getByTestId("l").textContent).toBe("0 s ago");
    state.mockReturnValue("visible");
    act(() => void document.dispatchEvent(new Event("visibilitychange")));
    expect(screen.getByTestId("l").textContent).toBe("5 min ago");
  });

  it("the engine pill names the last sample's time, and warns once samples are late", () => {
    vi.useFakeTimers({ now: T0 });
    const engine = { state: "running", last_error: null, last_sample_ms: T0, metrics_interval_secs: 5, data_dir: "/d" } as unknown as EngineStatus;
    render(<EngineHealth engine={engine} />);
    const pill = screen.getByTestId("engine-health");
    expect(pill.textContent).toBe(`Live · sampled at ${timeOfDay(T0)}`);
    // Nothing to redraw until the sample is late: one timer, set for that moment.
    expect(vi.getTimerCount()).toBe(1);
    act(() => void vi.advanceTimersByTime(20_000));
    expect(pill.textContent).toBe(`Live · sampled at ${timeOfDay(T0)}`);
    expect(pill.className).toContain("ok");
    act(() => void vi.advanceTimersByTime(1_000));
    expect(pill.textContent).toBe("Last sample 21 s ago");
    expect(pill.className).toContain("warn");
    act(() => void vi.advanceTimersByTime(1_000));
    expect(pill.textContent).toBe("Last sample 22 s ago");
  });
});
