// The wizard's "Where" step: a folder, or a REST server whose connection is tested before the
// plan is created; the server password goes to the engine (and the keychain), never into the plan.
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { ConnectionReport } from "../bindings/ConnectionReport";
import type { PlanConfig } from "../bindings/PlanConfig";
import { setPlatform } from "../platform";
import { engineError, TypedFakePlatform } from "../testing/fakePlatform";
import type { PlanStatus } from "../bindings/PlanStatus";
import { PlanCard } from "./PlanCard";
import { restRepository, s3Repository, sftpRepository } from "./Where";
import { Wizard } from "./Wizard";

afterEach(cleanup);

const PASSWORD = "abcde-fghij-kmnpq";

function setUp(answer: (repository: string, serverPassword: string | null) => ConnectionReport) {
  const p = new TypedFakePlatform({
    suggest_backup_password: () => PASSWORD,
    test_backup_repository: ({ repository, serverPassword }) => answer(repository, serverPassword),
    create_backup_plan: () => ({ password_stored_in: "keychain", existing_repository: false }),
  });
  setPlatform(p);
  let done = 0;
  render(<Wizard onDone={() => done++} />);
  return { p, done: () => done };
}

const type = (id: string, value: string) => fireEvent.change(screen.getByTestId(id), { target: { value } });
const create = () => screen.getByTestId("wizard-create") as HTMLButtonElement;

describe("the wizard's Where step", () => {
  it("builds restic's rest: address with the user inside, and leaves a bad one for the engine to name", () => {
    expect(restRepository("https://backup.example.org:8000/mini", "alice")).toBe("rest:https://alice@backup.example.org:8000/mini");
    expect(restRepository("rest:http://127.0.0.1:8000", "")).toBe("rest:http://127.0.0.1:8000/");
    expect(restRepository("not a url", "bob")).toBe("rest:not a url");
    expect(restRepository("  ", "bob")).toBe("");
  });

  it("builds s3: and sftp:// addresses the way restic writes them", () => {
    expect(s3Repository("s3.eu-central-003.backblazeb2.com/", "0042abc", "house", "/mini/")).toBe("s3:https://0042abc@s3.eu-central-003.backblazeb2.com/house/mini");
    expect(s3Repository("http://127.0.0.1:9000", "minio", "b", "")).toBe("s3:http://minio@127.0.0.1:9000/b");
    expect(s3Repository("https://s3.amazonaws.com", "K", "", "x")).toBe("");
    expect(sftpRepository("nas.local", "2222", "backup", "/srv/restic")).toBe("sftp://backup@nas.local:2222/srv/restic");
    expect(sftpRepository("::1", "", "me", "r")).toBe("sftp://me@[::1]:22/r");
    expect(sftpRepository(" ", "22", "me", "/r")).toBe("");
  });

  it("an S3 plan sends the secret key beside the address, tested first; an SFTP plan shows Caretaker's key", async () => {
    const { p, done } = setUp((repository) => ({ reachable: true, initialised: false, password_ok: null, message: `${repository} is reachable and empty` }));
    p.answers.backup_ssh_key = () => "ssh-ed25519 AAAAC3Nza caretaker@mini";
    await waitFor(() => expect((screen.getByTestId("wizard-password") as HTMLInputElement).value).toBe(PASSWORD));
    type("wizard-sources", "/Users/me/Documents");
    act(() => screen.getByTestId("where-sftp").click());
    act(() => screen.getByTestId("where-sftp-key-show").click());
    await waitFor(() => expect(screen.getByTestId("where-sftp-key").textContent).toBe("ssh-ed25519 AAAAC3Nza caretaker@mini"));
    expect(screen.queryByTestId("where-s3-secret")).toBeNull();

    act(() => screen.getByTestId("where-s3").click());
    type("where-s3-endpoint", "https://s3.eu-central-003.backblazeb2.com");
    type("where-s3-bucket", "house");
    type("where-s3-folder", "mini");
    type("where-s3-key-id", "0042abc");
    type("where-s3-secret", "K004secret");
    act(() => screen.getByTestId("wizard-saved").click());
    expect(create().disabled).toBe(true);
    act(() => screen.getByTestId("where-test").click());
    await waitFor(() => expect(create().disabled).toBe(false));
    act(() => create().click());
    await waitFor(() => expect(done()).toBe(1));
    const sent = p.calls.find((c) => c.cmd === "create_backup_plan")?.req as { plan: PlanConfig; serverPassword: string | null };
    expect(sent.plan.repository).toBe("s3:https://0042abc@s3.eu-central-003.backblazeb2.com/house/mini");
    expect(sent.serverPassword).toBe("K004secret");
    expect(JSON.stringify(sent.plan)).not.toContain("K004secret");
  });

  it("an SFTP account's password puts Caretaker's key there once, is not kept, and the connection is tested after", async () => {
    const { p } = setUp((repository) => ({ reachable: true, initialised: false, password_ok: null, message: `${repository} is reachable and empty` }));
    p.answers.backup_ssh_let_key_in = () => "ssh-ed25519 AAAAC3Nza caretaker@mini";
    act(() => screen.getByTestId("where-sftp").click());
    type("where-sftp-host", "nas.local");
    type("where-sftp-user", "backup");
    type("where-sftp-folder", "/srv/restic");
    const letIn = screen.getByTestId("where-sftp-let-in") as HTMLButtonElement;
    expect(letIn.disabled).toBe(true);
    type("where-sftp-password", "their pass");
    act(() => letIn.click());
    await waitFor(() => expect(screen.getByTestId("where-sftp-placed")).toBeTruthy());
    const sent = p.calls.find((c) => c.cmd === "backup_ssh_let_key_in")?.req;
    expect(sent).toEqual({ repository: "sftp://backup@nas.local:22/srv/restic", password: "their pass" });
    expect((screen.getByTestId("where-sftp-password") as HTMLInputElement).value).toBe("");
    await waitFor(() => expect(screen.getByTestId("where-result").textContent).toContain("reachable"));
    expect(p.calls.filter((c) => c.cmd === "test_backup_repository")).toHaveLength(1);
    expect(p.calls.some((c) => c.cmd === "create_backup_plan")).toBe(false);
  });

  it("a refused password is said, and nothing is tested", async () => {
    const { p } = setUp((repository) => ({ reachable: true, initialised: false, password_ok: null, message: `${repository} ok` }));
    p.answers.backup_ssh_let_key_in = () => {
      throw engineError("invalid_input", "backup@nas.local did not accept the password (or does not allow password logins)");
    };
    act(() => screen.getByTestId("where-sftp").click());
    type("where-sftp-host", "nas.local");
    type("where-sftp-user", "backup");
    type("where-sftp-folder", "/srv/restic");
    type("where-sftp-password", "wrong");
    act(() => screen.getByTestId("where-sftp-let-in").click());
    await waitFor(() => expect(screen.getByTestId("where-sftp-let-in-error").textContent).toContain("did not accept the password"));
    expect(screen.queryByTestId("where-sftp-placed")).toBeNull();
    expect(p.calls.some((c) => c.cmd === "test_backup_repository")).toBe(false);
  });

  it("a REST plan is created only after a passing connection test, with the server password beside it", async () => {
    const { p, done } = setUp((repository, server) =>
      server === "s3cret server"
        ? { reachable: true, initialised: false, password_ok: null, message: `${repository} is reachable and empty: a new repository will be created there` }
        : { reachable: false, initialised: false, password_ok: null, message: `repository not reachable: the server ${repository} refused the user name or password (HTTP 401)` },
    );
    await waitFor(() => expect((screen.getByTestId("wizard-password") as HTMLInputElement).value).toBe(PASSWORD));
    type("wizard-sources", "/Users/me/Documents");
    act(() => screen.getByTestId("where-rest").click());
    expect(screen.queryByTestId("wizard-repository")).toBeNull();
    type("where-url", "http://127.0.0.1:8000/mini");
    type("where-user", "alice");
    type("where-server-password", "wrong");
    act(() => screen.getByTestId("wizard-saved").click());
    expect(create().disabled).toBe(true);
    expect(screen.getByTestId("wizard-test-first")).toBeTruthy();

    // A refused password: said, in the warning colour, and the plan still cannot be created.
    act(() => screen.getByTestId("where-test").click());
    await waitFor(() => expect(screen.getByTestId("where-result").textContent).toContain("refused the user name or password"));
    expect(screen.getByTestId("where-result").className).toBe("warn-text");
    expect(create().disabled).toBe(true);

    // The right one: the test passes, then changing the address asks for a new test.
    type("where-server-password", "s3cret server");
    act(() => screen.getByTestId("where-test").click());
    await waitFor(() => expect(screen.getByTestId("where-result").textContent).toContain("reachable and empty"));
    expect(screen.getByTestId("where-result").className).toBe("ok-text");
    expect(create().disabled).toBe(false);
    type("where-url", "http://127.0.0.1:8000/other");
    expect(create().disabled).toBe(true);
    expect(screen.queryByTestId("where-result")).toBeNull();
    type("where-url", "http://127.0.0.1:8000/mini");
    act(() => screen.getByTestId("where-test").click());
    await waitFor(() => expect(create().disabled).toBe(false));

    const tests = p.calls.filter((c) => c.cmd === "test_backup_repository").map((c) => c.req);
    expect(tests[0]).toEqual({ repository: "rest:http://alice@127.0.0.1:8000/mini", password: PASSWORD, serverPassword: "wrong" });

    act(() => create().click());
    await waitFor(() => expect(done()).toBe(1));
    const sent = p.calls.find((c) => c.cmd === "create_backup_plan")?.req as { plan: PlanConfig; password: string; serverPassword: string | null };
    expect(sent.plan.repository).toBe("rest:http://alice@127.0.0.1:8000/mini");
    expect(sent.serverPassword).toBe("s3cret server");
    expect(JSON.stringify(sent.plan)).not.toContain("s3cret");
  });

  it("a folder plan needs no test and sends no server password", async () => {
    const { p, done } = setUp((repository) => ({ reachable: true, initialised: true, password_ok: false, message: `${repository} holds a repository, but this password does not open it` }));
    await waitFor(() => expect((screen.getByTestId("wizard-password") as HTMLInputElement).value).toBe(PASSWORD));
    type("wizard-sources", "/Users/me/Documents");
    type("wizard-repository", "/Volumes/B/repo");
    act(() => screen.getByTestId("wizard-saved").click());
    // A test is offered all the same, and a wrong password is a warning.
    act(() => screen.getByTestId("where-test").click());
    await waitFor(() => expect(screen.getByTestId("where-result").className).toBe("warn-text"));
    expect(create().disabled).toBe(false);
    act(() => create().click());
    await waitFor(() => expect(done()).toBe(1));
    const sent = p.calls.find((c) => c.cmd === "create_backup_plan")?.req as { serverPassword: string | null };
    expect(sent.serverPassword).toBeNull();
  });

  it("a REST plan's card replaces the server password through the engine", async () => {
    const p = new TypedFakePlatform({ set_backup_server_password: () => null });
    setPlatform(p);
    const status: PlanStatus = {
      plan: { name: "Remote", sources: ["/Users/me"], excludes: [], default_excludes: true, exclude_build_folders: false, repository: "rest:https://alice@nas.example.org/mini", schedule: "manual", keep: { last: 3, hourly: 24, daily: 7, weekly: 4, monthly: 12 }, host: "mini", include_caretaker_data: true, upload_limit_kib: 0, pause_on_battery: true, pause_on_metered: true },
      last_run: null, last_success_ms: null, last_check: null, next_run_ms: null, repository_bytes: null, health: "never", health_message: "Never backed up", password: "keychain", paused: null,
    };
    let changed = 0;
    render(<PlanCard p={status} job={null} macos={false} onBrowse={() => {}} onChanged={() => changed++} />);
    act(() => screen.getByTestId("server-password-open").click());
    type("plan-server-password", "new server pass");
    act(() => screen.getByText("Save password").click());
    await waitFor(() => expect(changed).toBe(1));
    expect(p.calls.find((c) => c.cmd === "set_backup_server_password")?.req).toEqual({ plan: "Remote", password: "new server pass" });
    expect(screen.queryByTestId("plan-server-password")).toBeNull();
    // A folder plan has no server.
    cleanup();
    render(<PlanCard p={{ ...status, plan: { ...status.plan, repository: "/Volumes/B/repo" } }} job={null} macos={false} onBrowse={() => {}} onChanged={() => {}} />);
    expect(screen.queryByTestId("server-password-open")).toBeNull();
  });
});
