//! `caretaker service install | uninstall | status`: the engine as a service that starts at login
//! (or boot) and again after a crash. A LaunchAgent on macOS, a systemd user unit on Linux, or
//! with `--system` a LaunchDaemon / system unit for a machine that boots to no logged-in user.
//! The platform is chosen at run time so both generators are built and tested everywhere; the
//! service manager is reached through [`ServiceManager`] (argv only) so tests can record it.

pub mod parse;
pub mod render;

use anyhow::{bail, Context as _, Result};
use caretaker_engine::presence::ServiceState;
use parse::Running;
use render::Spec;
use std::path::{Path, PathBuf};

/// The app's bundle identifier (tauri.conf.json), which is also the LaunchAgent's label.
pub const LABEL: &str = "app.caretaker.desktop";
pub const UNIT_NAME: &str = "caretaker.service";

/// Said in `--system`'s help and after installing one.
pub const SYSTEM_LIMITS: &str = "A system-wide service runs before anyone logs in, as the user you name, outside any login \
session: it does not use the login keychain or Secret Service (backup passwords are kept in the private file in the data \
folder instead) and it cannot show desktop notifications (alerts still reach the log, the app and Alertmanager).";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Launchd,
    Systemd,
}

impl Platform {
    pub fn current() -> Platform {
        if cfg!(target_os = "macos") {
            Platform::Launchd
        } else {
            Platform::Systemd
        }
    }
}

/// Where service files go and who the service is for; injected so tests write under a temp HOME.
#[derive(Debug, Clone)]
pub struct Context {
    pub platform: Platform,
    pub home: PathBuf,
    /// XDG_CONFIG_HOME, or HOME/.config.
    pub config_home: PathBuf,
    /// `/` in real life: the root of /Library/LaunchDaemons and /etc/systemd/system.
    pub system_root: PathBuf,
    pub uid: u32,
    pub exe: PathBuf,
    /// The data folder the service will use, and whether the person chose it (then it is set in
    /// the service's environment).
    pub data_dir: PathBuf,
    pub data_dir_chosen: bool,
    /// Some(user) for a system-wide service run as that user.
    pub system_user: Option<String>,
}

/// The service manager's command line: argv in, (succeeded, stdout, stderr) out.
pub trait ServiceManager {
    fn run(&self, argv: &[String]) -> Result<(bool, String, String)>;
}

/// Runs the real `systemctl` / `launchctl`, never through a shell.
pub struct RealManager;

impl ServiceManager for RealManager {
    fn run(&self, argv: &[String]) -> Result<(bool, String, String)> {
        let (program, args) = argv.split_first().context("empty command")?;
        let out = std::process::Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .with_context(|| format!("cannot run {program}"))?;
        Ok((out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned()))
    }
}

fn argv(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

impl Context {
    /// The service file this context installs.
    pub fn file(&self) -> PathBuf {
        match (self.platform, self.system_user.is_some()) {
            (Platform::Launchd, false) => self.home.join("Library/LaunchAgents").join(format!("{LABEL}.plist")),
            (Platform::Launchd, true) => self.system_root.join("Library/LaunchDaemons").join(format!("{LABEL}.plist")),
            (Platform::Systemd, false) => self.config_home.join("systemd/user").join(UNIT_NAME),
            (Platform::Systemd, true) => self.system_root.join("etc/systemd/system").join(UNIT_NAME),
        }
    }

    fn kind(&self) -> &'static str {
        match (self.platform, self.system_user.is_some()) {
            (Platform::Launchd, false) => "per-user LaunchAgent",
            (Platform::Launchd, true) => "system-wide LaunchDaemon",
            (Platform::Systemd, false) => "systemd user unit",
            (Platform::Systemd, true) => "systemd system unit",
        }
    }

    fn spec(&self) -> Spec {
        let logs = self.data_dir.join(caretaker_engine::paths::LOG_DIR);
        Spec {
            label: LABEL.into(),
            exe: self.exe.clone(),
            // A system service has no login HOME to find the default folder from.
            data_dir: (self.data_dir_chosen || self.system_user.is_some()).then(|| self.data_dir.clone()),
            stdout: logs.join("service.out.log"),
            stderr: logs.join("service.err.log"),
            user: self.system_user.clone(),
        }
    }

    /// The file's text: pure, from the one template of this platform.
    pub fn render(&self) -> Result<String> {
        match self.platform {
            Platform::Launchd => render::plist(&self.spec()),
            Platform::Systemd => render::unit(&self.spec()),
        }
    }

    fn systemctl(&self, args: &[&str]) -> Vec<String> {
        let mut v = argv(&["systemctl"]);
        if self.system_user.is_none() {
            v.push("--user".into());
        }
        v.extend(argv(args));
        v
    }

    fn launchd_domain(&self) -> String {
        if self.system_user.is_some() {
            "system".into()
        } else {
            format!("gui/{}", self.uid)
        }
    }
}

fn check(manager: &dyn ServiceManager, argv: Vec<String>) -> Result<()> {
    let (ok, _, stderr) = manager.run(&argv)?;
    if !ok {
        bail!("`{}` failed: {}", argv.join(" "), stderr.trim());
    }
    Ok(())
}

/// Writes the service file and starts the service; returns what to tell the person.
pub fn install(ctx: &Context, manager: &dyn ServiceManager) -> Result<String> {
    let text = ctx.render()?;
    let file = ctx.file();
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::create_dir_all(ctx.data_dir.join(caretaker_engine::paths::LOG_DIR))
        .with_context(|| format!("cannot create the data folder {}", ctx.data_dir.display()))?;
    let reinstall = file.exists();
    match ctx.platform {
        Platform::Launchd => {
            let path = file.display().to_string();
            if reinstall {
                // A loaded job keeps its old definition until it is booted out; not loaded is fine.
                let _ = manager.run(&argv(&["launchctl", "bootout", &ctx.launchd_domain(), &path]))?;
            }
            std::fs::write(&file, text).with_context(|| format!("cannot write {path}"))?;
            check(manager, argv(&["launchctl", "bootstrap", &ctx.launchd_domain(), &path]))?;
        }
        Platform::Systemd => {
            std::fs::write(&file, text).with_context(|| format!("cannot write {}", file.display()))?;
            check(manager, ctx.systemctl(&["daemon-reload"]))?;
            check(manager, ctx.systemctl(&["enable", "--now", UNIT_NAME]))?;
            if reinstall {
                check(manager, ctx.systemctl(&["restart", UNIT_NAME]))?;
            }
        }
    }
    let mut said = format!("Installed the {} {}\nIt starts Caretaker now, ", ctx.kind(), file.display());
    said.push_str(if ctx.system_user.is_some() { "at every boot" } else { "at every login" });
    said.push_str(" and again after a crash.\n");
    if ctx.system_user.is_some() {
        said.push_str(SYSTEM_LIMITS);
        said.push('\n');
    }
    Ok(said)
}

/// Stops the service and removes its file; not installed is not an error.
pub fn uninstall(ctx: &Context, manager: &dyn ServiceManager) -> Result<String> {
    let file = ctx.file();
    if !file.exists() {
        return Ok(format!("No {} installed ({} does not exist).\n", ctx.kind(), file.display()));
    }
    match ctx.platform {
        Platform::Launchd => {
            // Not loaded (already stopped by hand) still lets the file go.
            let _ = manager.run(&argv(&["launchctl", "bootout", &ctx.launchd_domain(), &file.display().to_string()]))?;
            std::fs::remove_file(&file).with_context(|| format!("cannot remove {}", file.display()))?;
        }
        Platform::Systemd => {
            check(manager, ctx.systemctl(&["disable", "--now", UNIT_NAME]))?;
            std::fs::remove_file(&file).with_context(|| format!("cannot remove {}", file.display()))?;
            check(manager, ctx.systemctl(&["daemon-reload"]))?;
        }
    }
    Ok(format!("Stopped and removed the {} {}\n", ctx.kind(), file.display()))
}

/// Whether the service is installed, its file, and whether it runs, as the app's switch reads it.
pub fn state(ctx: &Context, manager: &dyn ServiceManager) -> ServiceState {
    let file = ctx.file();
    let mut state = ServiceState {
        installed: file.exists(),
        running: false,
        pid: None,
        detail: "not loaded".into(),
        file: file.display().to_string(),
        kind: ctx.kind().into(),
        unavailable: None,
    };
    let running = match ctx.platform {
        Platform::Launchd => manager
            .run(&argv(&["launchctl", "print", &format!("{}/{LABEL}", ctx.launchd_domain())]))
            .map(|(ok, out, _)| parse::launchctl_print(ok, &out)),
        Platform::Systemd => manager.run(&ctx.systemctl(&["is-active", UNIT_NAME])).map(|(_, out, err)| {
            // No answer at all, only a complaint: there is no user service manager to ask (a
            // container, a session without systemd), which is not the same as "inactive".
            if out.trim().is_empty() && !err.trim().is_empty() {
                state.unavailable = Some(format!("systemd's user service manager does not answer: {}", err.trim()));
            }
            parse::systemctl_is_active(&out)
        }),
    };
    match running {
        Ok(Running::Yes { pid }) => {
            state.running = true;
            state.pid = pid;
            state.detail = "running".into();
        }
        Ok(Running::No(word)) => state.detail = word,
        Ok(Running::NotLoaded) => {}
        Err(e) => state.unavailable = Some(format!("{e:#}")),
    }
    state
}

/// [`state`] in words, for a terminal.
pub fn status(ctx: &Context, manager: &dyn ServiceManager) -> Result<String> {
    let s = state(ctx, manager);
    let running = match (s.running, s.pid) {
        (true, Some(pid)) => format!("yes (pid {pid})"),
        (true, None) => "yes".into(),
        (false, _) => format!("no ({})", s.detail),
    };
    let mut said = format!(
        "Service:  {} ({})\nFile:     {}\nRunning:  {running}\n",
        if s.installed { "installed" } else { "not installed" },
        s.kind,
        s.file
    );
    if let Some(why) = &s.unavailable {
        said.push_str(&format!("Note:     {why}\n"));
    }
    Ok(said)
}

/// Checks that a system-wide install can work before anything is written.
pub fn check_system_install(user: &str, euid: u32, data_dir_chosen: bool) -> Result<()> {
    if euid != 0 {
        bail!("a system-wide service is installed by root: run it again with sudo");
    }
    if user.is_empty() || !user.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) || user.starts_with('-') {
        bail!("--user {user:?} is not a user name (letters, digits, '.', '_' and '-')");
    }
    if !data_dir_chosen {
        bail!("--system needs --data-dir: the folder the service keeps its data in, owned by {user}");
    }
    Ok(())
}

pub fn default_config_home(home: &Path) -> PathBuf {
    std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or_else(|| home.join(".config"))
}

#[cfg(test)]
mod tests;
