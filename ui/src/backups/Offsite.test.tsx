// A plan on this Mac says whether an offsite copy exists, and adds one with its folders filled in.
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { PlanConfig } from "../bindings/PlanConfig";
import type { PlanStatus } from "../bindings/PlanStatus";
import { setPlatform } from "../platform";
import { TypedFakePlatform } from "../testing/fakePlatform";
import { Backups } from "./BackupsPage";

afterEach(cleanup);

const local: PlanStatus = {
  plan: { name: "Docs", sources: ["/Users/me/Documents", "/Users/me/Photos"], excludes: ["*.iso"], default_excludes: true, exclude_build_folders: true, repository: "/Volumes/B/repo", schedule: "hourly", keep: { last: 3, hourly: 24, daily: 7, weekly: 4, monthly: 12 }, host: "mini", include_caretaker_data: true, upload_limit_kib: 0, pause_on_battery: true, pause_on_metered: true },
  last_run: null, last_success_ms: null, last_check: null, next_run_ms: null, repository_bytes: 8192,
  health: "ok", health_message: "Backed up", password: "keychain", paused: null,
};

function show(plans: PlanStatus[]) {
  const p = new TypedFakePlatform({
    backups_overview: () => ({ plans, job: null, history: [], macos: false, time_machine: null }),
    suggest_backup_password: () => "abcde-fghij-kmnpq",
    test_backup_repository: ({ repository }) => ({ reachable: true, initialised: false, password_ok: null, message: `${repository} is reachable and empty` }),
    create_backup_plan: () => ({ password_stored_in: "keychain", existing_repository: false }),
  });
  setPlatform(p);
  render(<Backups />);
  return p;
}

describe("offsite copies", () => {
  it("a local plan without one says so and adds one with the same folders, on a nightly schedule", async () => {
    const p = show([local]);
    await waitFor(() => expect(screen.getByTestId("plan-offsite").textContent).toContain("none"));
    act(() => screen.getByTestId("plan-offsite-add").click());
    expect(screen.getByText("Add an offsite copy of Docs")).toBeTruthy();
    expect((screen.getByTestId("wizard-sources") as HTMLTextAreaElement).value).toBe("/Users/me/Documents\n/Users/me/Photos");
    expect((screen.getByTestId("wizard-schedule") as HTMLSelectElement).value).toBe("daily 03:00");
    expect((screen.getByTestId("where-s3") as HTMLInputElement).checked).toBe(true);
    const type = (id: string, value: string) => fireEvent.change(screen.getByTestId(id), { target: { value } });
    type("where-s3-endpoint", "https://s3.eu-central-003.backblazeb2.com");
    type("where-s3-bucket", "house");
    type("where-s3-key-id", "0042");
    type("where-s3-secret", "K004secret");
    await waitFor(() => expect((screen.getByTestId("wizard-password") as HTMLInputElement).value).not.toBe(""));
    act(() => screen.getByTestId("wizard-saved").click());
    act(() => screen.getByTestId("where-test").click());
    await waitFor(() => expect((screen.getByTestId("wizard-create") as HTMLButtonElement).disabled).toBe(false));
    act(() => screen.getByTestId("wizard-create").click());
    await waitFor(() => expect(p.count("create_backup_plan")).toBe(1));
    const plan = (p.calls.find((c) => c.cmd === "create_backup_plan")?.req as { plan: PlanConfig }).plan;
    expect(plan.name).toBe("Docs offsite");
    expect(plan.sources).toEqual(local.plan.sources);
    expect(plan.excludes).toEqual(["*.iso"]);
    expect(plan.exclude_build_folders).toBe(true);
    expect(plan.repository).toBe("s3:https://0042@s3.eu-central-003.backblazeb2.com/house");
  });

  it("a local plan shows the health of the remote plan keeping its folders", async () => {
    const remote: PlanStatus = { ...local, plan: { ...local.plan, name: "Docs offsite", repository: "sftp://me@nas:22/srv/r", sources: ["/Users/me/Photos", "/Users/me/Documents"] }, health_message: "Failed: no answer" };
    show([local, remote]);
    await waitFor(() => expect(screen.getAllByTestId("plan-offsite")[0].textContent).toBe("Docs offsite · Failed: no answer"));
    expect(screen.queryByTestId("plan-offsite-add")).toBeNull();
    expect(screen.getAllByTestId("plan-offsite")).toHaveLength(1);
  });
});
