//! The scenario's world: a work folder with the data folder and the repository disk on tmpfs
//! mounts of their own, the engine process under a fake clock, a loopback probe server, and the
//! cleanup that leaves no mount, process or fake clock behind.

use super::fakeclock::{build_unpreload, find_faketime, forget_fake_clock, FakeClockFiles};
use super::probe::ProbeServer;
use super::{harness, HResult};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Every process the run starts carries this variable, so cleanup finds the engine's workers
/// (and orphans of killed engines) by their own environment, never by name.
pub const MARKER: &str = "CARETAKER_FAULTS_RUN";
pub const WORKER_ARG: &str = "__backup-worker";
pub const PLAN: &str = "Docs";
const PASSWORD: &str = "faults-password-not-secret";

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

pub fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

pub struct World {
    pub work: PathBuf,
    pub data: PathBuf,
    pub src: PathBuf,
    pub disk: PathBuf,
    store: PathBuf,
    pub repo: PathBuf,
    pub password_file: PathBuf,
    pub bin: PathBuf,
    pub faketime_lib: PathBuf,
    unpreload: PathBuf,
    pub http_port: u16,
    pub probe: ProbeServer,
    pub mounts_ok: Result<(), String>,
    pub run_id: String,
    pub engine: Option<Child>,
    /// Fake time minus real time of the running engine, in ms.
    pub offset_ms: i64,
    pub log: PathBuf,
    pub watchdog_key: Option<String>,
}

fn free_port() -> HResult<u16> {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).map_err(|e| harness(format!("no free port: {e}")))
}

pub fn run_quiet(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("cannot start {:?}: {e}", cmd.get_program()))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("{:?} {:?}: {}: {}", cmd.get_program(), cmd.get_args().collect::<Vec<_>>(), out.status, text.trim()))
    }
}

fn is_mounted(path: &Path) -> bool {
    let p = path.display().to_string();
    std::fs::read_to_string("/proc/self/mounts").is_ok_and(|m| m.lines().any(|l| l.split(' ').nth(1) == Some(p.as_str())))
}

impl World {
    pub fn create(bin: PathBuf) -> HResult<World> {
        let faketime_lib = find_faketime()?;
        let base = std::env::var_os("FAULTS_WORK").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
        let work = base.join(format!("caretaker-faults.{}-{}", std::process::id(), now_ms()));
        // The marker's value is the work folder, so a shell trap can find strays of a killed run.
        let run_id = work.display().to_string();
        let (data, src, disk, store) = (work.join("data"), work.join("src"), work.join("disk"), work.join("store"));
        for d in [&data, &src, &disk, &store] {
            std::fs::create_dir_all(d).map_err(|e| harness(format!("cannot create {}: {e}", d.display())))?;
        }
        let unpreload = build_unpreload(&work)?;
        let probe = ProbeServer::start()?;
        let mut w = World {
            repo: disk.join("repo"),
            password_file: work.join("password"),
            log: work.join("engine.log"),
            work,
            data,
            src,
            disk,
            store,
            bin,
            faketime_lib,
            unpreload,
            http_port: free_port()?,
            probe,
            mounts_ok: Ok(()),
            run_id,
            engine: None,
            offset_ms: 0,
            watchdog_key: None,
        };
        w.mounts_ok = w.mount_all();
        if let Err(e) = &w.mounts_ok {
            eprintln!("faults: no tmpfs mounts ({e}); the full-disk and disk-removed kinds will be skipped");
        }
        std::fs::write(&w.password_file, PASSWORD).map_err(|e| harness(format!("password file: {e}")))?;
        Ok(w)
    }

    fn mount_all(&self) -> Result<(), String> {
        let tmpfs = |dir: &Path, size: &str| {
            run_quiet(Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"]).arg(dir)).map(|_| ())
        };
        tmpfs(&self.data, "96m")?;
        tmpfs(&self.store, "384m")?;
        self.plug_disk()
    }

    /// The repository disk: a bind of its tmpfs, so unplugging it keeps the data for plugging back.
    pub fn plug_disk(&self) -> Result<(), String> {
        run_quiet(Command::new("mount").arg("--bind").arg(&self.store).arg(&self.disk)).map(|_| ())
    }

    pub fn unplug_disk(&self) -> Result<(), String> {
        run_quiet(Command::new("umount").arg("-l").arg(&self.disk)).map(|_| ())
    }

    /// The repository, made with the real restic CLI, and its password where the engine looks
    /// for it when there is no keychain (secrets/, named by a hash of the repository path).
    pub fn init_repository(&self) -> HResult<()> {
        self.restic().arg("init").output().map_err(|e| harness(format!("restic: {e}"))).and_then(|o| {
            if o.status.success() {
                Ok(())
            } else {
                Err(harness(format!("restic init failed: {}", String::from_utf8_lossy(&o.stderr))))
            }
        })?;
        let repo = self.repo.display().to_string();
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in repo.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let secrets = self.data.join("secrets");
        let file = secrets.join(format!("repo-{h:016x}.password"));
        std::fs::create_dir_all(&secrets).and_then(|_| std::fs::write(&file, PASSWORD)).map_err(|e| harness(format!("secret: {e}")))?;
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o700));
        let _ = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600));
        Ok(())
    }

    pub fn restic(&self) -> Command {
        let mut c = Command::new("restic");
        c.arg("-r").arg(&self.repo).arg("--no-cache").env("RESTIC_PASSWORD_FILE", &self.password_file).stdin(Stdio::null());
        c
    }

    pub fn config_path(&self) -> PathBuf {
        self.data.join("caretaker.toml")
    }

    /// The scenario's config: every retention far beyond the run's span (so any shrink of the
    /// history is a loss), CPU and memory alerts out of reach of a busy build machine, an hourly plan,
    /// maintenance due three seconds after `fake_start_ms`, one HTTP check against the probe. The
    /// fake clock skips an hour while the engine is stopped between rounds, so the "Caretaker was not
    /// running" alert is off: it would report the harness, not a fault (it has tests of its own).
    pub fn config_text(&self, fake_start_ms: i64) -> String {
        let minute_of_day = ((fake_start_ms + 3_000).rem_euclid(86_400_000) / 60_000) as u32;
        let watchdog = match &self.watchdog_key {
            Some(k) => format!("{} = {}\n", k.trim_start_matches("backups."), watchdog_setting(k).0),
            None => String::new(),
        };
        format!(
            "[metrics]\ninterval_secs = 1\nraw_retention_hours = 8760\nminute_retention_days = 3650\nhour_retention_days = 36500\n\n\
             [alerts]\ncpu = {{ warning = 100, critical = 100, for_secs = 86400 }}\n\
             memory = {{ warning = 100, critical = 100, for_secs = 86400 }}\n\
             disk = {{ warning = 99, critical = 99 }}\ncheck_failures_before_alert = 2\nretention_days = 3650\nabsence_alert_minutes = 0\n\n\
             [notifications]\nenabled = false\n\n[logs]\nretention_days = 3650\n\n\
             [maintenance]\ndaily_at = \"{:02}:{:02}\"\nenabled = true\n\n\
             [http]\nenabled = true\nbind = \"127.0.0.1:{}\"\n\n\
             [backups]\n{watchdog}\n[[backups.plans]]\nname = \"{PLAN}\"\nsources = [\"{}\"]\nrepository = \"{}\"\n\
             schedule = \"hourly\"\nkeep = {{ last = 1000 }}\nhost = \"faults\"\ninclude_caretaker_data = true\n\n\
             [checks]\nretention_days = 3650\n\n[[checks.list]]\nname = \"Web\"\ninterval_secs = 5\ntimeout_secs = 1\n\
             http = {{ url = \"http://127.0.0.1:{}/\" }}\n",
            minute_of_day / 60,
            minute_of_day % 60,
            self.http_port,
            self.src.display(),
            self.repo.display(),
            self.probe.port,
        )
    }

    /// Starts `caretaker run` with its clock at `fake_ms` (a relative FAKETIME offset).
    pub fn start_engine(&mut self, fake_ms: i64) -> HResult<()> {
        if self.engine.is_some() {
            return Err(harness("start_engine while an engine runs"));
        }
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).map_err(|e| harness(format!("log: {e}")))?;
        let err = log.try_clone().map_err(|e| harness(format!("log: {e}")))?;
        let offset_s = (fake_ms - now_ms()) / 1000;
        let mut c = Command::new(&self.bin);
        c.arg("run")
            .arg("--data-dir")
            .arg(&self.data)
            .env(MARKER, &self.run_id)
            .env("CARETAKER_KEYCHAIN", "off")
            .env("CARETAKER_LOG", "info")
            .env("NO_COLOR", "1")
            .env("TZ", "UTC")
            .env("LD_PRELOAD", format!("{} {}", self.faketime_lib.display(), self.unpreload.display()))
            .env("FAKETIME", format!("{offset_s:+}"))
            // No shared-memory clock for children: a killed engine would leave it in /dev/shm.
            .env("FAKETIME_DISABLE_SHM", "1")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err);
        // Its own process group: a Ctrl-C meant for the harness must not reach the engine first.
        std::os::unix::process::CommandExt::process_group(&mut c, 0);
        let child = c.spawn().map_err(|e| harness(format!("cannot start {}: {e}", self.bin.display())))?;
        self.offset_ms = offset_s * 1000;
        self.engine = Some(child);
        Ok(())
    }

    pub fn fake_now(&self) -> i64 {
        now_ms() + self.offset_ms
    }

    pub fn engine_pid(&self) -> Option<i32> {
        self.engine.as_ref().map(|c| c.id() as i32)
    }

    /// Whether the engine process has exited (reaping it); its exit status when it has.
    pub fn engine_exited(&mut self) -> Option<String> {
        let c = self.engine.as_mut()?;
        match c.try_wait() {
            Ok(Some(st)) => {
                forget_fake_clock(c.id());
                self.engine = None;
                Some(st.to_string())
            }
            _ => None,
        }
    }

    /// SIGTERM, then SIGKILL after `grace`; says how it went.
    pub fn stop_engine(&mut self, grace: Duration) -> Option<String> {
        let mut c = self.engine.take()?;
        let _clock = FakeClockFiles(c.id());
        signal(c.id() as i32, libc::SIGCONT);
        signal(c.id() as i32, libc::SIGTERM);
        let deadline = Instant::now() + grace;
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return (!st.success()).then(|| format!("engine exited with {st} on SIGTERM"));
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                return Some(format!("engine did not stop within {} s of SIGTERM; killed", grace.as_secs()));
            }
            sleep_ms(50);
        }
    }

    pub fn kill9_engine(&mut self) -> Option<i32> {
        let mut c = self.engine.take()?;
        let pid = c.id() as i32;
        let _ = c.kill();
        let _ = c.wait();
        forget_fake_clock(c.id());
        Some(pid)
    }

    /// Processes of this run (engine, workers, orphans), by the marker in their environment.
    pub fn marked(&self) -> Vec<(i32, String)> {
        let want = format!("{MARKER}={}", self.run_id);
        let Ok(rd) = std::fs::read_dir("/proc") else { return Vec::new() };
        rd.flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| env.split(|b| *b == 0).any(|kv| kv == want.as_bytes()))
            })
            .filter(|pid| !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z ")))
            .map(|pid| {
                (
                    pid,
                    std::fs::read(format!("/proc/{pid}/cmdline"))
                        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
                        .unwrap_or_default(),
                )
            })
            .collect()
    }

    pub fn workers(&self) -> Vec<i32> {
        // Cheap first: only processes whose command line names the worker get their environment read.
        let want = format!("{MARKER}={}", self.run_id);
        let Ok(rd) = std::fs::read_dir("/proc") else { return Vec::new() };
        rd.flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.windows(WORKER_ARG.len()).any(|w| w == WORKER_ARG.as_bytes()))
            })
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| env.split(|b| *b == 0).any(|kv| kv == want.as_bytes()))
            })
            .filter(|pid| !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z ")))
            .collect()
    }

    /// Waits up to `within` for a backup worker to appear.
    pub fn wait_worker(&self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(p) = self.workers().first() {
                return Some(*p);
            }
            sleep_ms(10);
        }
        None
    }

    /// Ends every process of this run except the engine we hold, by pid.
    pub fn kill_strays(&self) -> Vec<i32> {
        let engine = self.engine_pid();
        let strays: Vec<i32> = self.marked().into_iter().map(|(p, _)| p).filter(|p| Some(*p) != engine).collect();
        for p in &strays {
            signal(*p, libc::SIGCONT);
            signal(*p, libc::SIGKILL);
        }
        strays
    }

    /// GET /health with a deadline; true on a 200.
    pub fn answers(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            if health(self.http_port, left) {
                return true;
            }
            sleep_ms(100);
        }
    }

    /// The engine, its workers and any orphan of this run; the probe answers again.
    pub fn stop_all(&mut self) {
        let _ = self.stop_engine(Duration::from_secs(5));
        self.probe.set_hang(false);
        let strays = self.kill_strays();
        if !strays.is_empty() {
            sleep_ms(200);
        }
    }

    pub fn unmount_all(&self) {
        for m in [&self.disk, &self.store, &self.data] {
            if is_mounted(m) {
                if let Err(e) = run_quiet(Command::new("umount").arg("-l").arg(m)) {
                    eprintln!("faults: cleanup: {e}");
                }
            }
        }
    }
}

impl Drop for World {
    // A panic in the harness must not leave an engine, a worker or a mount behind either.
    fn drop(&mut self) {
        self.stop_all();
        self.unmount_all();
    }
}

pub fn signal(pid: i32, sig: libc::c_int) {
    // SAFETY: kill(2) with a pid this run started; no memory is shared.
    unsafe {
        libc::kill(pid, sig);
    }
}

fn health(port: u16, within: Duration) -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, within.max(Duration::from_millis(10))) else { return false };
    let _ = s.set_read_timeout(Some(within.max(Duration::from_millis(10))));
    if s.write_all(b"GET /health HTTP/1.0\r\nhost: 127.0.0.1\r\n\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 32];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200") || String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.0 200")
}

/// The smallest watchdog the setting allows: (value to write, the same in seconds). A setting in
/// minutes cannot go below one minute, so a stopped worker is held a little past that.
pub fn watchdog_setting(key: &str) -> (u64, u64) {
    if key.ends_with("_minutes") {
        (1, 60)
    } else {
        (10, 10)
    }
}
