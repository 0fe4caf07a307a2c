import { act, renderHook, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { Alert } from "../bindings/Alert";
import { setPlatform } from "../platform";
import { TypedFakePlatform } from "../testing/fakePlatform";
import { emitEngineEvent } from "./bus";
import { useAction, useCommand } from "./useCommand";

const resolved = { id: 1, status: "resolved" } as Alert;

describe("useCommand", () => {
  it("reads once, then again only after the events it names", async () => {
    let n = 0;
    const p = new TypedFakePlatform({ list_runbooks: () => [{ id: `r${++n}`, title: "" }] });
    setPlatform(p);
    const { result } = renderHook(() => useCommand("list_runbooks", {}, { refetchOn: ["checks_changed", (e) => e.type === "alert_changed" && e.alert.status === "resolved"] }));
    await waitFor(() => expect(result.current.data?.[0].id).toBe("r1"));
    expect(result.current.loading).toBe(false);

    act(() => emitEngineEvent({ type: "notifications_paused", until_ms: null }));
    act(() => emitEngineEvent({ type: "alert_changed", alert: { ...resolved, status: "active" } }));
    act(() => emitEngineEvent({ type: "checks_changed", checks: [] }));
    await waitFor(() => expect(result.current.data?.[0].id).toBe("r2"));
    act(() => emitEngineEvent({ type: "alert_changed", alert: resolved }));
    await waitFor(() => expect(result.current.data?.[0].id).toBe("r3"));
    expect(p.count("list_runbooks")).toBe(3);
  });

  it("keeps the newest request's answer when an older one lands later", async () => {
    const slow: Array<() => void> = [];
    const p = new TypedFakePlatform({
      healing_log: ({ query }) => new Promise((done) => slow.push(() => done([{ id: query.limit } as never]))),
    });
    setPlatform(p);
    const { result, rerender } = renderHook(({ limit }) => useCommand("healing_log", { query: { limit } }), { initialProps: { limit: 1 } });
    await waitFor(() => expect(slow).toHaveLength(1));
    rerender({ limit: 2 });
    await waitFor(() => expect(slow).toHaveLength(2));
    await act(async () => slow[1]());
    await act(async () => slow[0]());
    expect(result.current.data?.[0].id).toBe(2);
  });

  it("keeps the last answer next to a later error, and waits while skipped", async () => {
    let fail = false;
    const p = new TypedFakePlatform({
      runbook: () => {
        if (fail) throw { kind: "io", code: "io", message: "disk gone", fields: [] };
        return "# ok";
      },
    });
    setPlatform(p);
    const { result, rerender } = renderHook(({ skip }) => useCommand("runbook", { alertType: "x" }, { skip }), { initialProps: { skip: true } });
    expect(result.current.loading).toBe(false);
    expect(p.count("runbook")).toBe(0);
    rerender({ skip: false });
    await waitFor(() => expect(result.current.data).toBe("# ok"));
    fail = true;
    await act(() => result.current.refetch());
    expect(result.current.error?.payload.code).toBe("io");
    expect(result.current.data).toBe("# ok");
  });
});

describe("useAction", () => {
  it("tracks busy and the error of the last try", async () => {
    const { result } = renderHook(() => useAction());
    let ok = true;
    await act(async () => {
      ok = await result.current.run(() => Promise.reject({ kind: "already_running", code: "busy", message: "a backup is running", fields: [] }));
    });
    expect(ok).toBe(false);
    expect(result.current.error?.payload.code).toBe("busy");
    await act(async () => {
      ok = await result.current.run(async () => {});
    });
    expect(ok).toBe(true);
    expect(result.current.error).toBeNull();
    expect(result.current.busy).toBe(false);
  });
});
