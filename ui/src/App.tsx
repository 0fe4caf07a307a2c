import { useEffect, useState } from "react";
import { useEngine } from "./state/useEngine";
import { Overview } from "./Overview";
import { Services } from "./Services";
import { Alerts } from "./Alerts";
import { Monitor } from "./Monitor";
import { Healing } from "./Healing";
import { Insights } from "./Insights";
import { Detectors } from "./Detectors";
import { Backups } from "./backups/BackupsPage";
import { Settings } from "./settings/SettingsPage";
import { platform } from "./platform";
import { ErrorNote } from "./components/ErrorNote";
import { EngineHealth } from "./components/EngineHealth";
import { ConfigBanner } from "./components/ConfigBanner";

const PAGES = ["overview", "services", "alerts", "backups", "detectors", "healing", "insights", "monitor", "settings"] as const;
type Page = (typeof PAGES)[number];

/** Where a link from outside the window points: a tab, or `alerts/<id>` (a clicked notification). */
export function parseTarget(target: string): { page: Page; alert: number | null } | null {
  const [name, id] = target.replace(/^#/, "").split("/");
  const page = PAGES.find((p) => p === name);
  if (!page) return null;
  const alert = page === "alerts" && id && /^\d+$/.test(id) ? Number(id) : null;
  return { page, alert };
}

export function App() {
  const { snapshot, error, reload, connection } = useEngine();
  // A window built to show a page (the tray, a clicked notification) starts at its address's #page.
  const initial = parseTarget(window.location.hash);
  const [page, setPage] = useState<Page>(initial?.page ?? "overview");
  const [focusAlert, setFocusAlert] = useState<number | null>(initial?.alert ?? null);
  useEffect(() => {
    let off: (() => void) | undefined;
    void (async () => {
      off = await (await platform()).onNavigate((p) => {
        const target = parseTarget(p);
        if (!target) return;
        setPage(target.page);
        setFocusAlert(target.alert);
      });
    })();
    return () => off?.();
  }, []);
  if (error && !snapshot && error.code === "engine_unreachable") {
    return (
      <div className="fatal" data-testid="engine-gone">
        <h1>Waiting for the Caretaker engine</h1>
        <p>{error.message}</p>
        <button onClick={() => void reload()}>Try again</button>
      </div>
    );
  }

  if (error && !snapshot) {
    return (
      <div className="fatal" data-testid="engine-error">
        <h1>Caretaker could not start</h1>
        <p className="fatal-kind">{error.payload.kind.replace(/_/g, " ")}</p>
        <ErrorNote error={error} />
        <button onClick={() => void reload()}>Try again</button>
      </div>
    );
  }

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <svg viewBox="0 0 1024 1024" className="logo" aria-hidden="true">
            <rect x="64" y="64" width="896" height="896" rx="200" fill="var(--accent)" />
            <polyline points="300,540 430,540 490,400 570,680 630,520 730,520" fill="none" stroke="#fff" strokeWidth="64" strokeLinecap="round" strokeLinejoin="round" />
          </svg>
          <span>Caretaker</span>
          {snapshot?.host && <span className="host">{snapshot.host.hostname}</span>}
        </div>
        <nav className="tabs">
          {PAGES.map((p) => (
            <button key={p} data-testid={`tab-${p}`} className={`tab ${page === p ? "active" : ""}`} onClick={() => setPage(p)}>
              {p[0].toUpperCase() + p.slice(1)}
              {p === "alerts" && snapshot && snapshot.alerts.length > 0 && (
                <span className={`count ${snapshot.alerts.some((a) => a.severity === "critical") ? "crit" : "warn"}`}>{snapshot.alerts.length}</span>
              )}
            </button>
          ))}
        </nav>
        <EngineHealth engine={snapshot?.engine} />
      </header>
      {!connection.connected && (
        <div className="banner crit" role="alert" data-testid="engine-gone">
          {connection.message ?? "The Caretaker engine stopped."} What you see below is from before it stopped.
        </div>
      )}
      {snapshot && <ConfigBanner alerts={snapshot.alerts} />}
      <main>
        {!snapshot && <div className="loading">Connecting to the engine…</div>}
        {snapshot && page === "overview" && <Overview snapshot={snapshot} onOpen={setPage} />}
        {snapshot && page === "services" && <Services />}
        {snapshot && page === "alerts" && <Alerts snapshot={snapshot} focus={focusAlert} />}
        {snapshot && page === "monitor" && <Monitor />}
        {snapshot && page === "backups" && <Backups />}
        {snapshot && page === "detectors" && <Detectors />}
        {snapshot && page === "healing" && <Healing />}
        {snapshot && page === "insights" && <Insights />}
        {snapshot && page === "settings" && <Settings />}
      </main>
    </div>
  );
}
