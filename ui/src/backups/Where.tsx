import { useState } from "react";
import type { ConnectionReport } from "../bindings/ConnectionReport";
import { ErrorNote } from "../components/ErrorNote";
import { Input } from "../components/Input";
import { PathPicker } from "../components/PathPicker";
import { call, useAction } from "../state/useCommand";

export type WhereKind = "folder" | "rest";

/** Where the wizard's plan keeps its snapshots, as the engine takes it. */
export interface Where {
  kind: WhereKind;
  /** A folder path, or `rest:https://user@host:port/path` (the user is part of the address). */
  repository: string;
  /** The REST server's password: sent to the engine, which keeps it in the keychain. */
  serverPassword: string;
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
  const test = async () => {
    setReport(null);
    await testing.run(async () => {
      const r = await call("test_backup_repository", {
        repository: where.repository,
        password,
        serverPassword: where.kind === "rest" ? where.serverPassword : null,
      });
      setReport(r);
      onTested(reportOk(r) ? where.repository : null);
    });
  };

  return (
    <fieldset className="where" data-testid="wizard-where">
      <legend>Where</legend>
      <label className="check">
        <input type="radio" name="where" data-testid="where-folder" checked={where.kind === "folder"} onChange={() => change({ kind: "folder", repository: "" })} />
        A folder or disk on this Mac
      </label>
      <label className="check">
        <input type="radio" name="where" data-testid="where-rest" checked={where.kind === "rest"} onChange={() => { setUrl(""); setUser(""); change({ kind: "rest", repository: "" }); }} />
        A REST server (rest-server, rclone serve restic)
      </label>
      {where.kind === "folder" ? (
        <label>Repository folder (an external disk, a mounted share, or a folder)
          <div className="path-field">
            <Input data-testid="wizard-repository" placeholder="/Volumes/Backup/caretaker" value={where.repository} onChange={(e) => change({ repository: e.target.value })} />
            <PathPicker kind="folder" title="Choose the repository folder" testId="wizard-repository-pick" onPick={(p) => change({ repository: p })} />
          </div>
        </label>
      ) : (
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
