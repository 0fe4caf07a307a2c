import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { PlanConfig } from "../bindings/PlanConfig";
import { setPlatform } from "../platform";
import { BackupSettings } from "../settings/BackupSettings";
import { engineError, TypedFakePlatform } from "../testing/fakePlatform";
import { PlanEditor } from "./PlanEditor";

afterEach(cleanup);

const plan: PlanConfig = {
  name: "Docs", sources: ["/Users/me/Documents"], excludes: [], default_excludes: true, exclude_build_folders: false,
  repository: "/Volumes/B/repo", schedule: "daily 02:00", keep: { last: 3, hourly: 24, daily: 7, weekly: 4, monthly: 12 }, host: "mini", include_caretaker_data: true, upload_limit_kib: 0, pause_on_battery: true, pause_on_metered: true,
};

describe("changing a backup plan", () => {
  it("adds a folder, an exclusion and a schedule, keeps the repository, and names a refused field", async () => {
    let refuse = false;
    const p = new TypedFakePlatform({
      pick_folder: () => "/Users/me/Pictures",
      update_backup_plan: ({ plan: next }) => {
        if (refuse) throw engineError("invalid_config", "backups.plans[0].schedule: must be hourly, daily HH:MM or manual", ["backups.plans[0].schedule"]);
        return next;
      },
    });
    setPlatform(p);
    let saved = 0;
    render(<PlanEditor plan={plan} onSaved={() => saved++} onCancel={() => {}} />);
    fireEvent.click(screen.getByTestId("plan-edit-sources-pick"));
    await waitFor(() => expect((screen.getByTestId("plan-edit-sources") as HTMLTextAreaElement).value).toBe("/Users/me/Documents\n/Users/me/Pictures"));
    fireEvent.change(screen.getByTestId("plan-edit-excludes"), { target: { value: "*.iso\n\nDownloads" } });
    fireEvent.change(screen.getByTestId("plan-edit-schedule"), { target: { value: "hourly" } });
    fireEvent.change(screen.getByTestId("plan-edit-keep-daily"), { target: { value: "14" } });
    fireEvent.click(screen.getByTestId("plan-edit-save"));
    await waitFor(() => expect(saved).toBe(1));
    const sent = p.calls.find((c) => c.cmd === "update_backup_plan")?.req as { plan: PlanConfig };
    expect(sent.plan).toEqual({ ...plan, sources: ["/Users/me/Documents", "/Users/me/Pictures"], excludes: ["*.iso", "Downloads"], schedule: "hourly", keep: { ...plan.keep, daily: 14 } });

    refuse = true;
    fireEvent.change(screen.getByTestId("plan-edit-schedule"), { target: { value: "weekly" } });
    fireEvent.click(screen.getByTestId("plan-edit-save"));
    expect((await screen.findByTestId("plan-edit-error")).getAttribute("data-code")).toBe("invalid_config");
    expect(saved).toBe(1);
  });

  it("saves the checks and limits every plan shares", async () => {
    const p = new TypedFakePlatform({
      backup_settings: () => ({ verify_every_days: 7, read_data_every_days: 30, stuck_after_minutes: 30 }),
      save_backup_settings: ({ settings }) => settings,
    });
    setPlatform(p);
    render(<BackupSettings />);
    fireEvent.change(await screen.findByTestId("backups-stuck_after_minutes"), { target: { value: "90" } });
    fireEvent.click(screen.getByTestId("backups-save"));
    await screen.findByText("Saved and applied.");
    expect(p.calls.find((c) => c.cmd === "save_backup_settings")?.req).toEqual({ settings: { verify_every_days: 7, read_data_every_days: 30, stuck_after_minutes: 90 } });
  });
});
