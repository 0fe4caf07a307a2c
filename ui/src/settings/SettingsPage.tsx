import { BackgroundService } from "./BackgroundService";
import { EngineSettings } from "./EngineSettings";
import { Notifications } from "./Notifications";

/** Settings, a section per part of Caretaker. */
export function Settings() {
  return (
    <div className="page settings" data-testid="settings-page">
      <Notifications />
      <BackgroundService />
      <EngineSettings />
    </div>
  );
}
