import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { ChannelConfig } from "../bindings/ChannelConfig";
import type { ChannelStatus } from "../bindings/ChannelStatus";
import type { NotificationsConfig } from "../bindings/NotificationsConfig";
import { setPlatform } from "../platform";
import { TypedFakePlatform } from "../testing/fakePlatform";
import { Notifications } from "./Notifications";

afterEach(cleanup);

const status = (over: Partial<ChannelStatus> = {}): ChannelStatus => ({
  name: "Phone", kind: "ntfy", enabled: true, pending: 0, last_success_at: null, last_failure_at: null, last_error: null, missing_secrets: [], ...over,
});

function engine() {
  const state: { channels: ChannelConfig[]; statuses: ChannelStatus[]; settings: NotificationsConfig } = {
    channels: [], statuses: [], settings: { enabled: true, channels: [], heartbeat: null },
  };
  const p = new TypedFakePlatform({
    channels_status: () => state.statuses,
    notifications_settings: () => ({ ...state.settings, channels: state.channels }),
    save_channel: ({ channel }) => {
      state.channels = [channel];
      state.statuses = [status({ name: channel.name })];
      return state.statuses;
    },
    channel_test: () => {
      state.statuses = state.statuses.map((s) => ({ ...s, last_failure_at: Date.now() }));
      return { delivered: false, error: "HTTP 403: forbidden" };
    },
    set_native_notifications: ({ enabled }) => {
      state.statuses = state.statuses.map((s) => (s.kind === "desktop" ? { ...s, enabled } : s));
      return state.statuses;
    },
    save_heartbeat: ({ heartbeat }) => {
      state.settings = { ...state.settings, heartbeat };
      return state.settings;
    },
  });
  return { p, state };
}

describe("Settings: notifications", () => {
  it("lists this screen's notifications as a built-in channel that is switched, not edited", async () => {
    const { p, state } = engine();
    state.statuses = [status({ name: "This computer", kind: "desktop", last_success_at: Date.now() - 60000 })];
    setPlatform(p);
    render(<Notifications />);
    const row = await screen.findByTestId("channel-This computer");
    expect(row.textContent).toContain("notifications on this screen");
    expect(row.textContent).not.toContain("Edit");
    expect(screen.getByText(/No channels yet/)).toBeTruthy();
    fireEvent.click(screen.getByTestId("native-switch"));
    await waitFor(() => expect(p.calls.find((c) => c.cmd === "set_native_notifications")?.req).toEqual({ enabled: false }));
    await waitFor(() => expect(screen.getByTestId("channel-This computer").textContent).toContain("· off"));
    expect((screen.getByTestId("channel-test") as HTMLButtonElement).disabled).toBe(true);
  });

  it("adds an ntfy channel with only its own fields and its token as a secret", async () => {
    const { p } = engine();
    setPlatform(p);
    render(<Notifications />);
    fireEvent.click(await screen.findByTestId("channel-add"));
    fireEvent.change(screen.getByTestId("channel-name"), { target: { value: "Phone" } });
    fireEvent.change(screen.getByTestId("channel-topic"), { target: { value: "my-secret-topic" } });
    fireEvent.change(screen.getByTestId("channel-secret-token"), { target: { value: "tk_123" } });
    fireEvent.click(screen.getByTestId("channel-save"));
    await screen.findByTestId("channel-Phone");
    const saved = p.calls.find((c) => c.cmd === "save_channel")?.req as { original: string | null; channel: ChannelConfig; secrets: unknown };
    expect(saved.original).toBeNull();
    expect(saved.channel).toMatchObject({ name: "Phone", kind: "ntfy", topic: "my-secret-topic", host: null, chat_id: null, url: null, to: [] });
    expect(saved.secrets).toEqual([{ key: "token", value: "tk_123" }]);
  });

  it("Send a test shows the server's answer when it fails", async () => {
    const { p, state } = engine();
    state.statuses = [status({ last_failure_at: Date.now() - 5000, last_error: "HTTP 403: forbidden" })];
    setPlatform(p);
    render(<Notifications />);
    expect((await screen.findByTestId("channel-failure")).textContent).toContain("HTTP 403: forbidden");
    fireEvent.click(screen.getByTestId("channel-test"));
    expect((await screen.findByTestId("channel-test-result")).textContent).toBe("Test not delivered: HTTP 403: forbidden");
    // The row shows the delivery state the test left, read again.
    await waitFor(() => expect(p.count("channels_status")).toBe(2));
  });

  it("sets the heartbeat, and an empty URL turns it off", async () => {
    const { p } = engine();
    setPlatform(p);
    render(<Notifications />);
    fireEvent.change(await screen.findByTestId("heartbeat-url"), { target: { value: " https://hc-ping.com/abc " } });
    fireEvent.change(screen.getByTestId("heartbeat-minutes"), { target: { value: "10" } });
    fireEvent.click(screen.getByTestId("heartbeat-save"));
    await waitFor(() => expect(p.count("save_heartbeat")).toBe(1));
    expect(p.calls.find((c) => c.cmd === "save_heartbeat")?.req).toEqual({ heartbeat: { url: "https://hc-ping.com/abc", interval_minutes: 10 } });
    fireEvent.change(screen.getByTestId("heartbeat-url"), { target: { value: "" } });
    fireEvent.click(screen.getByTestId("heartbeat-save"));
    await waitFor(() => expect(p.count("save_heartbeat")).toBe(2));
    expect(p.calls.filter((c) => c.cmd === "save_heartbeat")[1].req).toEqual({ heartbeat: null });
  });
});
