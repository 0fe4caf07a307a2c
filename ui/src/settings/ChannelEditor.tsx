import { useState } from "react";
import type { ChannelConfig } from "../bindings/ChannelConfig";
import type { ChannelKind } from "../bindings/ChannelKind";
import type { ChannelSecret } from "../bindings/ChannelSecret";
import type { ChannelStatus } from "../bindings/ChannelStatus";
import type { EmailSecurity } from "../bindings/EmailSecurity";
import type { WebhookPreset } from "../bindings/WebhookPreset";
import { Input } from "../components/Input";
import { ErrorNote } from "../components/ErrorNote";
import { asCommandError, type CommandError } from "../platform";
import { call } from "../state/useCommand";

export const KINDS: Array<{ kind: ChannelKind; label: string }> = [
  { kind: "ntfy", label: "ntfy (phone push)" },
  { kind: "email", label: "Email" },
  { kind: "pushover", label: "Pushover" },
  { kind: "telegram", label: "Telegram" },
  { kind: "webhook", label: "Webhook (Slack, Discord, Matrix, JSON)" },
];

/** The secrets each kind takes: (key, label, required). Never stored in caretaker.toml. */
const SECRETS: Record<ChannelKind, Array<[string, string, boolean]>> = {
  email: [["password", "SMTP password", false]],
  ntfy: [["token", "Access token (for a protected topic)", false]],
  pushover: [
    ["user_key", "User key", true],
    ["app_token", "Application token", true],
  ],
  telegram: [["bot_token", "Bot token", true]],
  webhook: [["url", "Webhook URL with a token in it (instead of the URL above)", false]],
  desktop: [],
};

export function blankChannel(kind: ChannelKind): ChannelConfig {
  return {
    name: "", kind, enabled: true, min_severity: "warning", recoveries: true, quiet_hours: null, digest_at: null,
    host: null, port: null, security: kind === "email" ? "starttls" : null, username: null, from: null, to: [],
    ca_file: null, server: null, topic: null, chat_id: null, url: null, preset: kind === "webhook" ? "generic" : null, api_url: null,
  };
}

/** Only the fields of the channel's kind: the engine refuses fields that belong to another. */
function forKind(c: ChannelConfig): ChannelConfig {
  const base = blankChannel(c.kind);
  const keep = (keys: Array<keyof ChannelConfig>) => Object.fromEntries(keys.map((k) => [k, c[k]]));
  const common = keep(["name", "enabled", "min_severity", "recoveries", "quiet_hours", "digest_at"]);
  const own: Record<ChannelKind, Array<keyof ChannelConfig>> = {
    email: ["host", "port", "security", "username", "from", "to", "ca_file"],
    ntfy: ["server", "topic"],
    pushover: ["api_url"],
    telegram: ["chat_id", "api_url"],
    webhook: ["url", "preset"],
    desktop: [],
  };
  return { ...base, ...common, ...keep(own[c.kind]) } as ChannelConfig;
}

const text = (v: string) => (v.trim() === "" ? null : v.trim());

/** Adds or edits one channel; saved by the engine, secrets to the keychain. */
export function ChannelEditor({ original, status, onSaved, onCancel }: {
  original: ChannelConfig | null;
  status?: ChannelStatus;
  onSaved: (list: ChannelStatus[]) => void;
  onCancel: () => void;
}) {
  const [c, setC] = useState<ChannelConfig>(original ?? blankChannel("ntfy"));
  const [secrets, setSecrets] = useState<Record<string, string>>({});
  const [to, setTo] = useState((original?.to ?? []).join(", "));
  const [error, setError] = useState<CommandError | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (patch: Partial<ChannelConfig>) => setC((old) => ({ ...old, ...patch }));

  const save = async () => {
    setBusy(true);
    setError(null);
    const channel = forKind({ ...c, to: to.split(/[,\s]+/).filter(Boolean) });
    // Blank means "keep what is stored"; only typed secrets are sent.
    const given: ChannelSecret[] = Object.entries(secrets).filter(([, v]) => v !== "").map(([key, value]) => ({ key, value }));
    try {
      onSaved(await call("save_channel", { original: original?.name ?? null, channel, secrets: given }));
    } catch (e) {
      setError(asCommandError(e));
    } finally {
      setBusy(false);
    }
  };

  const field = (label: string, key: keyof ChannelConfig, testId: string, placeholder?: string) => (
    <label>
      {label}
      <Input data-testid={testId} placeholder={placeholder} value={(c[key] as string | null) ?? ""} onChange={(e) => set({ [key]: text(e.target.value) } as Partial<ChannelConfig>)} />
    </label>
  );

  return (
    <div className="card form" data-testid="channel-editor">
      <div className="card-title">{original ? `Edit ${original.name}` : "Add a channel"}</div>
      <div className="grid2">
        <label>
          Name
          <Input data-testid="channel-name" value={c.name} onChange={(e) => set({ name: e.target.value })} />
        </label>
        <label>
          Kind
          <select data-testid="channel-kind" value={c.kind} disabled={!!original} onChange={(e) => setC({ ...blankChannel(e.target.value as ChannelKind), name: c.name })}>
            {KINDS.map((k) => (
              <option key={k.kind} value={k.kind}>{k.label}</option>
            ))}
          </select>
        </label>
        <label>
          Send
          <select data-testid="channel-severity" value={c.min_severity} onChange={(e) => set({ min_severity: e.target.value as ChannelConfig["min_severity"] })}>
            <option value="warning">warnings and critical alerts</option>
            <option value="critical">critical alerts only</option>
          </select>
        </label>
        <label className="inline">
          <input type="checkbox" checked={c.recoveries} onChange={(e) => set({ recoveries: e.target.checked })} />
          Also say when an alert recovers
        </label>
        <label>
          Daily summary at (HH:MM, empty: none)
          <Input data-testid="channel-digest" placeholder="08:00" value={c.digest_at ?? ""} onChange={(e) => set({ digest_at: text(e.target.value) })} />
        </label>
        {c.kind === "email" && (
          <>
            {field("SMTP server", "host", "channel-host", "smtp.example.com")}
            <label>
              Port
              <Input data-testid="channel-port" inputMode="numeric" placeholder="587 / 465 / 25" value={c.port ?? ""} onChange={(e) => set({ port: e.target.value ? Number(e.target.value) : null })} />
            </label>
            <label>
              Security
              <select data-testid="channel-security" value={c.security ?? "starttls"} onChange={(e) => set({ security: e.target.value as EmailSecurity })}>
                <option value="starttls">STARTTLS</option>
                <option value="tls">TLS</option>
                <option value="plain">none (a relay on this network)</option>
              </select>
            </label>
            {field("Login (empty: no login)", "username", "channel-username")}
            {field("From", "from", "channel-from", "caretaker@example.com")}
            <label>
              To (one or more addresses)
              <Input data-testid="channel-to" value={to} onChange={(e) => setTo(e.target.value)} />
            </label>
          </>
        )}
        {c.kind === "ntfy" && (
          <>
            {field("Server", "server", "channel-server", "https://ntfy.sh")}
            {field("Topic", "topic", "channel-topic", "a long, hard-to-guess name")}
          </>
        )}
        {c.kind === "telegram" && field("Chat id", "chat_id", "channel-chat", "123456789")}
        {c.kind === "webhook" && (
          <>
            {field("URL", "url", "channel-url", "https://hooks.example.com/…")}
            <label>
              Format
              <select data-testid="channel-preset" value={c.preset ?? "generic"} onChange={(e) => set({ preset: e.target.value as WebhookPreset })}>
                <option value="generic">JSON with every field of the alert</option>
                <option value="slack">Slack</option>
                <option value="discord">Discord</option>
                <option value="matrix">Matrix</option>
              </select>
            </label>
          </>
        )}
        {SECRETS[c.kind].map(([key, label, required]) => (
          <label key={key}>
            {label}
            {status?.missing_secrets.includes(key) ? " (not stored yet)" : original && !required ? " (blank: keep)" : ""}
            <Input type="password" data-testid={`channel-secret-${key}`} value={secrets[key] ?? ""} onChange={(e) => setSecrets((s) => ({ ...s, [key]: e.target.value }))} />
          </label>
        ))}
      </div>
      {error && <ErrorNote error={error} />}
      <div className="actions">
        <button className="primary" data-testid="channel-save" disabled={busy || !c.name.trim()} onClick={() => void save()}>
          {busy ? "Saving…" : "Save"}
        </button>
        <button onClick={onCancel}>Cancel</button>
      </div>
    </div>
  );
}
