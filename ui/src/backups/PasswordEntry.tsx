import { useState } from "react";
import { ErrorNote } from "../components/ErrorNote";
import { Input } from "../components/Input";
import { call, useAction } from "../state/useCommand";

interface Props {
  plan: string;
  /** Why the password is asked for. */
  reason: string;
  onSaved: () => void;
}

/** Hands the engine a plan's repository password; the engine checks that it opens the repository. */
export function PasswordEntry({ plan, reason, onSaved }: Props) {
  const [pw, setPw] = useState("");
  const saving = useAction();
  const save = async () => {
    if (await saving.run(() => call("set_backup_password", { plan, password: pw }))) onSaved();
  };
  return (
    <div className="warn-card form" data-testid="password-entry">
      <p className="warn-text">{reason} Enter it (Caretaker checks that it opens the repository):</p>
      <div className="row">
        <Input type="password" data-testid="plan-password" value={pw} onChange={(e) => setPw(e.target.value)} />
        <button disabled={!pw || saving.busy} onClick={() => void save()}>Save password</button>
      </div>
      <ErrorNote error={saving.error} />
    </div>
  );
}
