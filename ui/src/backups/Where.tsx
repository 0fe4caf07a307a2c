import { useState } from "react";
import type { ConnectionReport } from "../bindings/ConnectionReport";
import { ErrorNote } from "../components/ErrorNote";
import { Input } from "../components/Input";
import { PathPicker } from "../components/PathPicker";
import { call, useAction } from "../state/useCommand";

export type WhereKind = "folder" | "rest" | "s3" | "sftp";

/** Where the wizard's plan keeps its snapshots, as the engine takes it. */
export interface Where {
  kind: WhereKind;
  /**
   * A folder path, `rest:https://user@host:port/path`, `s3:https://KEYID@host/bucket/path` or
   * `sftp://user@host:port/path` (user names and key IDs are part of the address).
   */
  repository: string;
  /** The REST server's password or the S3 secret key: the engine keeps it in the keychain. */
  serverPassword: string;
}

/** Off this Mac: the connection is tested before the plan is made. */
export const isRemote = (k: WhereKind) => k !== "folder";
/** Reached with a secret the keychain keeps. */
export const hasSecret = (k: WhereKind) => k === "rest" || k === "s3";

/** `s3:` and the endpoint with the access key ID as its user, then the bucket and folder. */
export function s3Repository(endpoint: string, keyId: string, bucket: string, folder: string): string {
  const e = endpoint.trim().replace(/^s3:/, "").replace(/\/+$/, "");
  if (!e || !bucket.trim()) return "";
  const withScheme = /^[a-z]+:\/\//i.test(e) ? e : `https://${e}`;
  const path = [bucket.trim(), ...folder.split("/").map((s) => s.trim()).filter(Boolean)].join("/");
  try {
    const u = new URL(withScheme);
    if (keyId.trim()) u.username = keyId.trim();
    return `s3:${u.protocol}//${u.username ? `${u.username}@` : ""}${u.host}/${path}`;
  } catch {
    return `s3:${withScheme}/${path}`;
  }
}

/** `sftp://user@host:port/folder`; the folder is absolute on the server. */
export function sftpRepository(host: string, port: string, user: string, folder: string): string {
  const h = host.trim();
  if (!h) return "";
  const f = folder.trim();
  const p = port.trim() || "22";
  const hostPart = h.includes(":") && !h.startsWith("[") ? `[${h}]` : h;
  return `sftp://${user.trim() ? `${user.trim()}@` : ""}${hostPart}:${p}${f.startsWith("/") ? f : `/${f}`}`;
}

/**
 * The address restic (and the engine) reads: `rest:` and the URL with the user name inside.
 * Left as typed when it does not parse, so the engine's validation can say what is wrong.
 */
export function restRepository(url: string, user: string): string {
  const bare = url.trim().replace(/^rest:/, "");
  if (!bare) return "";
  try {
    const u = new URL(bare);
    if (user.trim()) u.username = user.trim();
    return `rest:${u.toString()}`;
  } catch {
    return `rest:${bare}`;
  }
}

/** The repository password is checked too when the repository already exists. */
export function reportOk(r: ConnectionReport): boolean {
  return r.reachable && r.password_ok !== false;
}

/**
 * The wizard's "Where" step: a folder or disk on this Mac, or a REST server (rest-server,
 * `rclone serve restic`) with a connection test. `tested` is the repository the last test
 * passed for, so the wizard can require one before it creates a REST plan.
 */
export function WhereStep({ where, onChange, password, onTested }: {
  where: Where;
  onChange: (w: Where) => void;
  password: string;
  onTested: (repository: string | null) => void;
}) {
  const [url, setUrl] = useState("");
  const [user, setUser] = useState("");
  const [s3, setS3] = useState({ endpoint: "", keyId: "", bucket: "", folder: "" });
  const [sftp, setSftp] = useState({ host: "", port: "22", user: "", folder: "" });
  const [report, setReport] = useState<ConnectionReport | null>(null);
  const testing = useAction();

  const change = (next: Partial<Where>) => {
    setReport(null);
    onTested(null);
    onChange({ ...where, ...next });
  };
  const changeRest = (u: string, name: string) => {
    setUrl(u);
    setUser(name);
    change({ repository: restRepository(u, name) });
  };
  const changeS3 = (next: Partial<typeof s3>) => {
    const v = { ...s3, ...next };
    setS3(v);
    change({ repository: s3Repository(v.endpoint, v.keyId, v.bucket, v.folder) });
  };
  const changeSftp = (next: Partial<typeof sftp>) => {
    const v = { ...sftp, ...next };
    setSftp(v);
    change({ repository: sftpRepository(v.host, v.port, v.user, v.folder) });
  };
  const pick = (kind: WhereKind) => {
    setUrl("");
    setUser("");
    change({ kind, repository: "", serverPassword: "" });
  };
  const test = async () => {
    setReport(null);
    await testing.run(async () => {
      const r = await call("test_backup_repository", {
        repository: where.repository,
        password,
        serverPassword: hasSecret(where.kind) ? where.serverPassword : null,
      });
      setReport(r);
      onTested(reportOk(r) ? where.repository : null);
    });
  };

  return (
    <fieldset className="where" data-testid="wizard-where">
      <legend>Where</legend>
      <label className="check">
        <input type="radio" name="where" data-testid="where-folder" checked={where.kind === "folder"} onChange={() => pick("folder")} />
        A folder or disk on this Mac
      </label>
      <label className="check">
        <input type="radio" name="where" data-testid="where-rest" checked={where.kind === "rest"} onChange={() => pick("rest")} />
        A REST server (rest-server, rclone serve restic)
      </label>
      <label className="check">
        <input type="radio" name="where" data-testid="where-s3" checked={where.kind === "s3"} onChange={() => pick("s3")} />
        S3-compatible storage (Amazon S3, Backblaze B2, Wasabi, MinIO…)
      </label>
      <label className="check">
        <input type="radio" name="where" data-testid="where-sftp" checked={where.kind === "sftp"} onChange={() => pick("sftp")} />
        An SFTP server (a NAS, another computer over SSH)
      </label>
      {where.kind === "s3" && (
        <>
          <div className="grid2">
            <label>Endpoint<Input data-testid="where-s3-endpoint" placeholder="https://s3.eu-central-003.backblazeb2.com" value={s3.endpoint} onChange={(e) => changeS3({ endpoint: e.target.value })} /></label>
            <label>Bucket (made at the provider first)<Input data-testid="where-s3-bucket" value={s3.bucket} onChange={(e) => changeS3({ bucket: e.target.value })} /></label>
            <label>Folder in the bucket (optional)<Input data-testid="where-s3-folder" placeholder="my-mac" value={s3.folder} onChange={(e) => changeS3({ folder: e.target.value })} /></label>
            <label>Access key ID<Input data-testid="where-s3-key-id" value={s3.keyId} onChange={(e) => changeS3({ keyId: e.target.value })} /></label>
          </div>
          <label>Secret access key
            <Input type="password" data-testid="where-s3-secret" value={where.serverPassword} onChange={(e) => change({ serverPassword: e.target.value })} />
          </label>
          <p className="dim">The secret key is kept in the keychain, never in caretaker.toml; the key ID is part of the address. Use the provider's regional endpoint (its region is read from it). A key limited to this bucket is safest.</p>
        </>
      )}
      {where.kind === "sftp" && <SftpFields sftp={sftp} repository={where.repository} onChange={changeSftp} onKeyIn={() => void test()} />}
      {where.kind === "folder" ? (
        <label>Repository folder (an external disk, a mounted share, or a folder)
          <div className="path-field">
            <Input data-testid="wizard-repository" placeholder="/Volumes/Backup/caretaker" value={where.repository} onChange={(e) => change({ repository: e.target.value })} />
            <PathPicker kind="folder" title="Choose the repository folder" testId="wizard-repository-pick" onPick={(p) => change({ repository: p })} />
          </div>
        </label>
      ) : where.kind === "rest" && (
        <>
          <label>Server address
            <Input data-testid="where-url" placeholder="https://backup.example.org:8000/my-mac" value={url} onChange={(e) => changeRest(e.target.value, user)} />
          </label>
          <div className="grid2">
            <label>User<Input data-testid="where-user" value={user} onChange={(e) => changeRest(url, e.target.value)} /></label>
            <label>Server password
              <Input type="password" data-testid="where-server-password" value={where.serverPassword} onChange={(e) => change({ serverPassword: e.target.value })} />
            </label>
          </div>
          <p className="dim">The server password is kept in the keychain, never in caretaker.toml. Plain http is only for this machine (127.0.0.1); use https for another one.</p>
        </>
      )}
      <div className="row">
        <button type="button" data-testid="where-test" disabled={testing.busy || !where.repository} onClick={() => void test()}>
          {testing.busy ? "Testing…" : "Test connection"}
        </button>
        {report && (
          <span data-testid="where-result" className={reportOk(report) ? "ok-text" : "warn-text"}>{report.message}</span>
        )}
      </div>
      <ErrorNote error={testing.error} testId="where-error" />
    </fieldset>
  );
}

/**
 * Host, port, user and folder of an SFTP server, and Caretaker's key to let in there: shown to
 * paste into authorized_keys, or put there by the engine with the account's password (used once,
 * never kept), after which the connection is tested.
 */
function SftpFields({ sftp, repository, onChange, onKeyIn }: {
  sftp: { host: string; port: string; user: string; folder: string };
  repository: string;
  onChange: (next: Partial<{ host: string; port: string; user: string; folder: string }>) => void;
  onKeyIn: () => void;
}) {
  const [key, setKey] = useState<string | null>(null);
  const [password, setPassword] = useState("");
  const [placed, setPlaced] = useState<string | null>(null);
  const making = useAction();
  const placing = useAction();
  const show = () => void making.run(async () => setKey(await call("backup_ssh_key", {})));
  const letIn = () => void placing.run(async () => {
    setPlaced(null);
    const line = await call("backup_ssh_let_key_in", { repository, password });
    setPassword("");
    setKey(line);
    setPlaced(repository);
    onKeyIn();
  });
  return (
    <>
      <div className="grid2">
        <label>Server<Input data-testid="where-sftp-host" placeholder="nas.local" value={sftp.host} onChange={(e) => onChange({ host: e.target.value })} /></label>
        <label>Port<Input data-testid="where-sftp-port" inputMode="numeric" value={sftp.port} onChange={(e) => onChange({ port: e.target.value })} /></label>
        <label>User<Input data-testid="where-sftp-user" value={sftp.user} onChange={(e) => onChange({ user: e.target.value })} /></label>
        <label>Folder on the server<Input data-testid="where-sftp-folder" placeholder="/volume1/backups/my-mac" value={sftp.folder} onChange={(e) => onChange({ folder: e.target.value })} /></label>
      </div>
      <p className="dim">Caretaker logs in with its own SSH key (no password to keep). Add the line below to <code>~/.ssh/authorized_keys</code> of that user on the server, then test the connection. The server's own key is remembered on the first connection; if it ever changes, Caretaker stops and says so.</p>
      <div className="row">
        <button type="button" data-testid="where-sftp-key-show" disabled={making.busy} onClick={show}>Show Caretaker's SSH key</button>
        {key && <button type="button" onClick={() => void navigator.clipboard?.writeText(key)}>Copy</button>}
      </div>
      {key && <code className="ssh-key" data-testid="where-sftp-key">{key}</code>}
      <ErrorNote error={making.error} testId="where-sftp-key-error" />
      <p className="dim">Or, if the account has a password, Caretaker can put its key there for you: the password is used once for that and is not kept.</p>
      <div className="row">
        <label>Account password
          <Input type="password" data-testid="where-sftp-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <button type="button" data-testid="where-sftp-let-in" disabled={placing.busy || !password || !repository} onClick={letIn}>
          {placing.busy ? "Putting the key there…" : "Put the key on the server"}
        </button>
      </div>
      {placed === repository && <p className="ok-text" data-testid="where-sftp-placed">Caretaker's key is on the server; the password was not kept.</p>}
      <ErrorNote error={placing.error} testId="where-sftp-let-in-error" />
    </>
  );
}
