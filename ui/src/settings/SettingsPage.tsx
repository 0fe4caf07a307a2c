import { BackgroundService } from "./BackgroundService";
import { Notifications } from "./Notifications";

/** Settings, a section per part of Caretaker. */
export function Settings() {
  return (
    <div className="page settings" data-testid="settings-page">
      <Notifications />
      <BackgroundService />
    </div>
  );
}
