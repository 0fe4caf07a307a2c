import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { RestoreDialog } from "../backups/RestoreDialog";
import { Wizard } from "../backups/Wizard";
import { setPlatform } from "../platform";
import { engineError, TypedFakePlatform } from "../testing/fakePlatform";
import { addLine } from "./PathPicker";

afterEach(cleanup);

const snapshot = { id: "abc", time_ms: 0, paths: ["/Users/me"], hostname: "mini", files: 1, bytes: 1, tags: [] } as never;

describe("native pickers beside path fields", () => {
  it("adds each chosen folder to the sources once and sets the repository", async () => {
    const picks = ["/Users/me/Documents", "/Users/me/Documents", "/Users/me/Pictures", "/Volumes/Backup/caretaker"];
    const p = new TypedFakePlatform({ suggest_backup_password: () => "abcde-fghij", pick_folder: () => picks.shift() ?? null });
    setPlatform(p);
    render(<Wizard onDone={() => {}} />);
    const sources = screen.getByTestId("wizard-sources") as HTMLTextAreaElement;
    for (const expected of ["/Users/me/Documents", "/Users/me/Documents", "/Users/me/Documents\n/Users/me/Pictures"]) {
      fireEvent.click(screen.getByTestId("wizard-sources-pick"));
      await waitFor(() => expect(sources.value).toBe(expected));
    }
    fireEvent.click(screen.getByTestId("wizard-repository-pick"));
    await waitFor(() => expect((screen.getByTestId("wizard-repository") as HTMLInputElement).value).toBe("/Volumes/Backup/caretaker"));
    expect(p.calls.filter((c) => c.cmd === "pick_folder").map((c) => (c.req as { title: string }).title)).toEqual([
      "Choose a folder to back up", "Choose a folder to back up", "Choose a folder to back up", "Choose the repository folder",
    ]);
  });

  it("a cancelled dialog leaves the field as it was, and a refusal is shown", async () => {
    let answer: () => string | null = () => null;
    const p = new TypedFakePlatform({ pick_folder: () => answer() });
    setPlatform(p);
    render(<RestoreDialog plan="Docs" snapshot={snapshot} entry={null} onClose={() => {}} />);
    const dest = screen.getByTestId("restore-dest") as HTMLInputElement;
    fireEvent.change(dest, { target: { value: "/typed/by/hand" } });
    fireEvent.click(screen.getByTestId("restore-dest-pick"));
    await waitFor(() => expect(p.count("pick_folder")).toBe(1));
    expect(dest.value).toBe("/typed/by/hand");
    answer = () => {
      throw engineError("invalid_input", "no dialog on this machine");
    };
    fireEvent.click(screen.getByTestId("restore-dest-pick"));
    expect((await screen.findByRole("alert")).textContent).toContain("no dialog on this machine");
    answer = () => "/Users/me/Restored";
    fireEvent.click(screen.getByTestId("restore-dest-pick"));
    await waitFor(() => expect(dest.value).toBe("/Users/me/Restored"));
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("addLine keeps one path per line without blanks or repeats", () => {
    expect(addLine("", "/a")).toBe("/a");
    expect(addLine("/a\n\n /b \n", "/c")).toBe("/a\n/b\n/c");
    expect(addLine("/a\n/b", "/b")).toBe("/a\n/b");
  });
});
