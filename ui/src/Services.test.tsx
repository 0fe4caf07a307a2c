import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { CheckResult } from "./bindings/CheckResult";
import type { CheckSummary } from "./bindings/CheckSummary";
import { setPlatform } from "./platform";
import { Services } from "./Services";
import { emitEngineEvent } from "./state/bus";
import { TypedFakePlatform } from "./testing/fakePlatform";

const web: CheckSummary = {
  config: { name: "Web", interval_secs: 5, timeout_secs: 2, degraded_latency_ms: null, enabled: true, http: null, tcp: { host: "127.0.0.1", port: 80 }, process: null, command: null, json_value: null },
  kind: "tcp", target: "127.0.0.1:80", latest: null, uptime_24h: null, uptime_7d: null, uptime_30d: null, recent_latency_ms: [],
};

const result = (status: CheckResult["status"], error: string | null): CheckResult => ({ service_name: "Web", status, latency_ms: null, checked_at: Date.now(), error_message: error, probe_details: {} });

afterEach(cleanup);

describe("Services", () => {
  it("shows each check result from its event, without re-reading every summary per result", async () => {
    const p = new TypedFakePlatform({ list_checks: () => [web] });
    setPlatform(p);
    render(<Services />);
    await waitFor(() => expect(screen.getByTestId("check-status").textContent).toBe("pending"));

    act(() => emitEngineEvent({ type: "check_result", result: result("down", "connection refused") }));
    expect(screen.getByTestId("check-status").textContent).toBe("down");
    expect(screen.getByTestId("check-Web").textContent).toContain("connection refused");
    act(() => emitEngineEvent({ type: "check_result", result: result("healthy", null) }));
    act(() => emitEngineEvent({ type: "check_result", result: result("down", "timed out") }));
    expect(screen.getByTestId("check-status").textContent).toBe("down");
    expect(p.count("list_checks")).toBe(1);

    // A change of the check list itself is read at once.
    act(() => emitEngineEvent({ type: "checks_changed", checks: [] }));
    await waitFor(() => expect(p.count("list_checks")).toBe(2));
  });
});
