import { useState } from "react";
import { ErrorNote } from "../components/ErrorNote";
import { Input } from "../components/Input";
import { call, useAction } from "../state/useCommand";

interface Props {
  plan: string;
  /** Why the password is asked for. */
  reason: string;
  onSaved: () => void;
  /** The REST server's password instead of the repository's (the engine checks the server takes it). */
  server?: boolean;
}

/** Hands the engine a plan's repository (or REST server) password; the engine checks it before keeping it. */
export function PasswordEntry({ plan, reason, onSaved, server = false }: Props) {
  const [pw, setPw] = useState("");
  const saving = useAction();
  const save = async () => {
    const cmd = server ? "set_backup_server_password" : "set_backup_password";
    if (await saving.run(() => call(cmd, { plan, password: pw }))) onSaved();
  };
  return (
    <div className="warn-card form" data-testid="password-entry">
      <p className="warn-text">{reason} Enter it (Caretaker checks that {server ? "the server accepts it" : "it opens the repository"}):</p>
      <div className="row">
        <Input type="password" data-testid={server ? "plan-server-password" : "plan-password"} value={pw} onChange={(e) => setPw(e.target.value)} />
        <button disabled={!pw || saving.busy} onClick={() => void save()}>Save password</button>
      </div>
      <ErrorNote error={saving.error} />
    </div>
  );
}
