import { useEffect, useRef, useState } from "react";
import type { Config } from "../bindings/Config";
import type { ConfigSection } from "../bindings/ConfigSection";
import { ErrorNote } from "../components/ErrorNote";
import { Input } from "../components/Input";
import { asCommandError, type CommandError } from "../platform";
import { call } from "../state/useCommand";

type Name = ConfigSection["section"];
type Values = { [S in ConfigSection as S["section"]]: S["value"] };
type Value<N extends Name> = Values[N];

/** One field: its path inside the section, its label, and how it is typed. */
export interface Field {
  path: string;
  label: string;
  kind: "number" | "text" | "bool" | "list";
  /** Empty means "not set" (null), e.g. a hold time that follows the interval. */
  optional?: boolean;
  hint?: string;
}

type Obj = Record<string, unknown>;

export function getPath(o: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Obj)[k] : undefined), o);
}

/** A copy of `o` with `path` set; objects on the way are copied, not changed. */
export function setPath<T>(o: T, path: string, value: unknown): T {
  const [head, ...rest] = path.split(".");
  const base = (o ?? {}) as Obj;
  return { ...base, [head]: rest.length ? setPath(base[head], rest.join("."), value) : value } as T;
}

/** What the person typed, as the engine takes it (a number left blank is "not set"). */
function parse(f: Field, text: string): unknown {
  if (f.kind === "list") return text.split(",").map((s) => s.trim()).filter(Boolean);
  if (f.kind !== "number") return text;
  if (text.trim() === "") return f.optional ? null : NaN;
  return Number(text);
}

function shown(f: Field, v: unknown): string {
  if (v === null || v === undefined) return "";
  if (f.kind === "list") return (v as string[]).join(", ");
  return String(v);
}

/**
 * One section of caretaker.toml as a form: the engine validates the whole file and names each
 * bad field, writes only this table (comments kept) and applies it at once.
 */
export function SectionForm<N extends Name>({ name, title, intro, fields, settings, defaults, onSaved, extra }: {
  name: N;
  title: string;
  intro?: string;
  fields: Field[];
  settings: Config;
  defaults: Config | null;
  onSaved: (c: Config) => void;
  /** Shown under the fields, given the values being edited. */
  extra?: (value: Value<N>, set: (path: string, v: unknown) => void) => React.ReactNode;
}) {
  const current = settings[name] as Value<N>;
  // Boxed: a generic state value could be a function as far as useState can tell.
  const [box, setBox] = useState<{ v: Value<N> }>({ v: current });
  const value = box.v;
  const [texts, setTexts] = useState<Record<string, string>>({});
  const [error, setError] = useState<CommandError | null>(null);
  const [saved, setSaved] = useState(false);
  // Only a newer configuration replaces what is being typed; the first render already shows it
  // (resetting on mount too would drop a keystroke that lands before that effect runs).
  const shownConfig = useRef(current);
  useEffect(() => {
    if (shownConfig.current === current) return;
    shownConfig.current = current;
    setBox({ v: current });
    setTexts({});
  }, [current]);
  const set = (path: string, v: unknown) => {
    setBox((old) => ({ v: setPath(old.v, path, v) }));
    setSaved(false);
  };
  const save = async (next: Value<N>) => {
    setError(null);
    setSaved(false);
    try {
      const after = await call("save_config_section", { section: { section: name, value: next } as ConfigSection });
      // The fields show what was saved, set here in the same update as "Saved": the effect
      // above, left to do it, could run after the next keystroke and undo it.
      shownConfig.current = after[name] as Value<N>;
      setBox({ v: after[name] as Value<N> });
      setTexts({});
      onSaved(after);
      setSaved(true);
    } catch (e) {
      setError(asCommandError(e));
    }
  };
  const bad = new Set((error?.payload.fields ?? []).map((f) => f.replace(`${name}.`, "")));
  return (
    <section className="card form" data-testid={`section-${name}`}>
      <div className="card-title">{title}</div>
      {intro && <p className="dim">{intro}</p>}
      <div className="grid2">
        {fields.map((f) =>
          f.kind === "bool" ? (
            <label key={f.path} className="inline">
              <input type="checkbox" data-testid={`${name}-${f.path}`} checked={Boolean(getPath(value, f.path))} onChange={(e) => set(f.path, e.target.checked)} />
              {f.label}
            </label>
          ) : (
            <label key={f.path} className={bad.has(f.path) || [...bad].some((b) => f.path.startsWith(`${b}.`)) ? "invalid" : ""}>
              {f.label}
              <Input
                data-testid={`${name}-${f.path}`}
                inputMode={f.kind === "number" ? "decimal" : undefined}
                placeholder={f.hint}
                value={texts[f.path] ?? shown(f, getPath(value, f.path))}
                onChange={(e) => {
                  setTexts((t) => ({ ...t, [f.path]: e.target.value }));
                  set(f.path, parse(f, e.target.value));
                }}
              />
            </label>
          ),
        )}
      </div>
      {extra?.(value, set)}
      <ErrorNote error={error} />
      <div className="actions">
        <button className="primary" data-testid={`${name}-save`} onClick={() => void save(value)}>Save</button>
        {defaults && (
          <button data-testid={`${name}-defaults`} onClick={() => void save(defaults[name] as Value<N>)}>Restore defaults</button>
        )}
        {saved && <span className="ok">Saved and applied.</span>}
      </div>
    </section>
  );
}
