import { useState } from "react";
import type { ChannelStatus } from "../bindings/ChannelStatus";
import type { ChannelTestOutcome } from "../bindings/ChannelTestOutcome";
import type { HeartbeatConfig } from "../bindings/HeartbeatConfig";
import { Ago } from "../components/Ago";
import { ErrorNote } from "../components/ErrorNote";
import { Input } from "../components/Input";
import { asCommandError, type CommandError } from "../platform";
import { call, useCommand } from "../state/useCommand";
import { ChannelEditor, KINDS } from "./ChannelEditor";

/** One channel: how its deliveries go, and its buttons. */
function ChannelRow({ ch, onEdit, onChanged, onTested }: {
  ch: ChannelStatus;
  onEdit: () => void;
  onChanged: (list: ChannelStatus[]) => void;
  /** The test went through the outbox: the channel's delivery state changed. */
  onTested: () => void;
}) {
  const [test, setTest] = useState<ChannelTestOutcome | "sending" | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const send = async () => {
    setTest("sending");
    setError(null);
    try {
      setTest(await call("channel_test", { name: ch.name }));
      onTested();
    } catch (e) {
      setTest(null);
      setError(asCommandError(e));
    }
  };
  const remove = async () => {
    try {
      onChanged(await call("delete_channel", { name: ch.name }));
    } catch (e) {
      setError(asCommandError(e));
    }
  };
  const switchNative = async () => {
    try {
      onChanged(await call("set_native_notifications", { enabled: !ch.enabled }));
    } catch (e) {
      setError(asCommandError(e));
    }
  };
  const builtIn = ch.kind === "desktop";
  const kind = builtIn ? "notifications on this screen" : (KINDS.find((k) => k.kind === ch.kind)?.label ?? ch.kind);
  const failedLast = ch.last_failure_at !== null && (ch.last_success_at === null || ch.last_failure_at > ch.last_success_at);
  return (
    <div className={`channel ${failedLast ? "failing" : ""}`} data-testid={`channel-${ch.name}`}>
      <div className="channel-head">
        <strong>{ch.name}</strong> <span className="dim">{kind}{ch.enabled ? "" : " · off"}</span>
        <span className="channel-actions">
          <button data-testid="channel-test" disabled={test === "sending" || !ch.enabled} onClick={() => void send()}>
            {test === "sending" ? "Sending…" : "Send a test"}
          </button>
          {builtIn ? (
            <button data-testid="native-switch" onClick={() => void switchNative()}>{ch.enabled ? "Turn off" : "Turn on"}</button>
          ) : (
            <>
              <button onClick={onEdit}>Edit</button>
              <button onClick={() => void remove()}>Remove</button>
            </>
          )}
        </span>
      </div>
      <div className="dim" data-testid="channel-delivery">
        {ch.last_success_at !== null ? <>Last delivered <Ago ms={ch.last_success_at} /></> : "Nothing delivered yet"}
        {ch.pending > 0 && ` · ${ch.pending} waiting`}
      </div>
      {failedLast && ch.last_error && (
        <div className="error" data-testid="channel-failure">
          Failed {ch.last_failure_at !== null && <Ago ms={ch.last_failure_at} />}: {ch.last_error}
        </div>
      )}
      {ch.missing_secrets.length > 0 && <div className="error">Needs {ch.missing_secrets.join(", ")}: use Edit to give it.</div>}
      {test && test !== "sending" && (
        <div className={test.delivered ? "ok" : "error"} data-testid="channel-test-result">
          {test.delivered ? "Test delivered." : `Test not delivered: ${test.error ?? "no answer"}`}
        </div>
      )}
      <ErrorNote error={error} />
    </div>
  );
}

/** The dead man's switch: pings an outside service that tells the owner when they stop. */
function Heartbeat({ current, onSaved }: { current: HeartbeatConfig | null; onSaved: () => void }) {
  const [url, setUrl] = useState(current?.url ?? "");
  const [minutes, setMinutes] = useState(String(current?.interval_minutes ?? 5));
  const [error, setError] = useState<CommandError | null>(null);
  const [saved, setSaved] = useState(false);
  const save = async () => {
    setError(null);
    setSaved(false);
    try {
      const heartbeat = url.trim() ? { url: url.trim(), interval_minutes: Number(minutes) || 5 } : null;
      await call("save_heartbeat", { heartbeat });
      setSaved(true);
      onSaved();
    } catch (e) {
      setError(asCommandError(e));
    }
  };
  return (
    <section className="card form" data-testid="heartbeat-settings">
      <div className="card-title">When this machine goes silent</div>
      <p className="dim">
        Caretaker can ping an outside service (Healthchecks.io, an Uptime Kuma push monitor…) every few minutes. If the pings stop — a power cut, a
        crash, no network — that service tells you, since this machine no longer can.
      </p>
      <div className="grid2">
        <label>
          Ping URL (empty: off)
          <Input data-testid="heartbeat-url" placeholder="https://hc-ping.com/…" value={url} onChange={(e) => setUrl(e.target.value)} />
        </label>
        <label>
          Every (minutes)
          <Input data-testid="heartbeat-minutes" inputMode="numeric" value={minutes} onChange={(e) => setMinutes(e.target.value)} />
        </label>
      </div>
      <ErrorNote error={error} />
      <div className="actions">
        <button className="primary" data-testid="heartbeat-save" onClick={() => void save()}>Save</button>
        {saved && <span className="ok">Saved.</span>}
      </div>
    </section>
  );
}

/** Settings → Notifications: where alerts go besides this screen, and the heartbeat. */
export function Notifications() {
  const channels = useCommand("channels_status", {}, { refetchOn: ["alert_changed"] });
  const settings = useCommand("notifications_settings", {});
  const [editing, setEditing] = useState<string | "new" | null>(null);
  const list = channels.data ?? [];
  const changed = (next: ChannelStatus[]) => {
    channels.setData(() => next);
    setEditing(null);
    void settings.refetch();
  };
  const configOf = (name: string) => settings.data?.channels.find((c) => c.name === name) ?? null;
  return (
    <>
      <section className="card" data-testid="channels-settings">
        <div className="card-title">
          Alerts on your phone and in your mail
          <button className="link" data-testid="channel-add" onClick={() => setEditing("new")}>Add a channel</button>
        </div>
        {list.every((c) => c.kind === "desktop") && (
          <p className="dim">No channels yet: alerts reach only this screen. Add ntfy for a push on your phone, or an email address.</p>
        )}
        {list.map((ch) =>
          editing === ch.name ? (
            <ChannelEditor key={ch.name} original={configOf(ch.name)} status={ch} onSaved={changed} onCancel={() => setEditing(null)} />
          ) : (
            <ChannelRow key={ch.name} ch={ch} onEdit={() => setEditing(ch.name)} onChanged={changed} onTested={() => void channels.refetch()} />
          ),
        )}
        {editing === "new" && <ChannelEditor original={null} onSaved={changed} onCancel={() => setEditing(null)} />}
        <ErrorNote error={channels.error} />
      </section>
      {settings.data && <Heartbeat current={settings.data.heartbeat} onSaved={() => void settings.refetch()} />}
    </>
  );
}
