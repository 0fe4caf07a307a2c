import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { ServiceState } from "../bindings/ServiceState";
import type { ServiceSwitch } from "../bindings/ServiceSwitch";
import { setPlatform } from "../platform";
import { TypedFakePlatform } from "../testing/fakePlatform";
import { BackgroundService, ServiceQuestion } from "./BackgroundService";

const state = (over: Partial<ServiceState> = {}): ServiceState => ({
  installed: false, running: false, pid: null, detail: "not loaded", file: "/home/ann/.config/systemd/user/caretaker.service",
  kind: "systemd user unit", unavailable: null, ...over,
});
const sw = (over: Partial<ServiceSwitch> = {}): ServiceSwitch => ({ state: state(), problem: null, asked: false, attached: false, ...over });

afterEach(cleanup);

describe("the first-run question", () => {
  it("turns the service on, then is not asked again", async () => {
    const p = new TypedFakePlatform({
      service_switch: () => sw(),
      set_service: ({ enabled }) => sw({ asked: true, attached: enabled, state: state({ installed: enabled, running: enabled, pid: 42, detail: "running" }) }),
    });
    setPlatform(p);
    render(<ServiceQuestion />);
    fireEvent.click(await screen.findByTestId("service-yes"));
    await waitFor(() => expect(screen.queryByTestId("service-question")).toBeNull());
    expect(p.calls.filter((c) => c.cmd === "set_service").map((c) => c.req)).toEqual([{ enabled: true }]);
  });

  it("is not asked where there is no service manager, or once answered", async () => {
    setPlatform(new TypedFakePlatform({ service_switch: () => sw({ state: state({ unavailable: "systemd's user service manager does not answer" }) }) }));
    const { unmount } = render(<ServiceQuestion />);
    await waitFor(() => expect(screen.queryByTestId("service-question")).toBeNull());
    unmount();
    const p = new TypedFakePlatform({ service_switch: () => sw({ asked: true }) });
    setPlatform(p);
    render(<ServiceQuestion />);
    await waitFor(() => expect(p.count("service_switch")).toBe(1));
    expect(screen.queryByTestId("service-question")).toBeNull();
  });
});

describe("Settings: background service", () => {
  it("shows why a change did not happen and who runs the engine", async () => {
    const problem = "`caretaker service install` failed: `systemctl --user enable --now caretaker.service` failed: Failed to connect to bus";
    setPlatform(new TypedFakePlatform({ service_switch: () => sw(), set_service: () => sw({ asked: true, problem }) }));
    render(<BackgroundService />);
    const box = (await screen.findByTestId("service-switch")) as HTMLInputElement;
    expect(box.checked).toBe(false);
    expect(screen.getByTestId("service-attached").textContent).toContain("runs its own engine");
    fireEvent.click(box);
    expect((await screen.findByTestId("service-problem")).textContent).toBe(problem);
    expect((screen.getByTestId("service-switch") as HTMLInputElement).checked).toBe(false);
  });

  it("cannot be turned on without a service manager, and says why", async () => {
    const why = "systemd's user service manager does not answer: Failed to connect to bus: No medium found";
    setPlatform(new TypedFakePlatform({ service_switch: () => sw({ problem: why, state: state({ unavailable: why }) }) }));
    render(<BackgroundService />);
    expect(((await screen.findByTestId("service-switch")) as HTMLInputElement).disabled).toBe(true);
    expect(screen.getByTestId("service-problem").textContent).toBe(why);
  });
});
