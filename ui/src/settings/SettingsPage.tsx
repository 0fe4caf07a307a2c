import { BackgroundService } from "./BackgroundService";

/** Settings, a section per part of Caretaker. */
export function Settings() {
  return (
    <div className="page settings" data-testid="settings-page">
      <BackgroundService />
    </div>
  );
}
