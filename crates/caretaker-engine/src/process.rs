//! Running a program on the engine's behalf (healing commands, the maintenance command, command
//! probes): an argv, never a shell; a process group of its own; a cleared environment; no stdin;
//! stdout and stderr drained together into bounded captures; a deadline and a cancel path.
//!
//! Two facts shape the loop. A program that writes more than a pipe holds blocks until someone
//! reads, so both pipes are read while it runs, not after. And a background process it started
//! (`srv &`, `nohup`) inherits the pipes and keeps them open long after the program itself has
//! exited, so reading stops shortly after the program exits instead of waiting for end-of-file.

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::process::{kill_process_group, waitid, Pid, Signal, WaitId, WaitIdOptions};
use std::collections::VecDeque;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// Variables every program gets (when set); everything else in the environment is cleared,
/// because the engine's own environment may hold secrets the program has no business seeing.
pub(crate) const BASE_ENV: &[&str] = &["PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ"];
/// Bytes kept of each stream: the first half and the last half of what it printed.
pub(crate) const CAPTURE: usize = 64 * 1024;
/// How long the pipes are still read after the program exited, for output still in flight.
const AFTER_EXIT: Duration = Duration::from_millis(200);
/// How long a stopped program may take to exit on SIGTERM before its group gets SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);
const TICK: Duration = Duration::from_millis(50);

/// What happens to processes the program started that are still running when it exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Leftovers {
    /// They stay: starting a daemon can be the very point of a healing command.
    Keep,
    /// They are killed with the group: a probe or a chore must not leave anything behind.
    Kill,
}

/// Receives each whole output line as it is written (`true` for stderr).
pub(crate) type LineTap<'a> = dyn Fn(bool, &str) + Sync + 'a;

pub(crate) struct Spec<'a> {
    pub argv: &'a [String],
    pub working_dir: Option<&'a str>,
    /// Names passed through on top of [`BASE_ENV`].
    pub env_allow: &'a [String],
    pub timeout: Duration,
    pub cancel: Option<&'a CancellationToken>,
    pub leftovers: Leftovers,
    /// Called with each whole line as it is written (`true` for stderr), for output followed live.
    pub on_line: Option<&'a LineTap<'a>>,
}

#[derive(Debug)]
pub(crate) enum Ended {
    Exited(ExitStatus),
    /// The deadline passed; the whole group was stopped.
    TimedOut,
    /// Cancelled while it ran; the whole group was stopped.
    Cancelled,
    /// Its exit status could not be read.
    Lost(String),
}

#[derive(Debug)]
pub(crate) struct Finished {
    pub ended: Ended,
    pub stdout: Capture,
    pub stderr: Capture,
}

/// A bounded record of one stream: its head and its tail, and how much was dropped between.
#[derive(Debug, Default)]
pub(crate) struct Capture {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    seen: u64,
    /// The line being written, for `on_line` (at most [`LINE_MAX`] bytes kept of it).
    partial: Vec<u8>,
    /// Whole lines written since the last `take_lines`.
    lines: Vec<String>,
    /// Whether lines are split out at all (only when someone follows them).
    tapped: bool,
}

/// The most of one output line handed to `on_line`.
const LINE_MAX: usize = 2000;

impl Capture {
    fn split_lines(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\n' {
                let line = String::from_utf8_lossy(&self.partial).trim_end_matches('\r').to_string();
                self.lines.push(line);
                self.partial.clear();
            } else if self.partial.len() < LINE_MAX {
                self.partial.push(b);
            }
        }
    }

    /// The whole lines written since the last call; at the end (`last`), the unfinished one too.
    fn take_lines(&mut self, last: bool) -> Vec<String> {
        if last && !self.partial.is_empty() {
            let line = String::from_utf8_lossy(&self.partial).to_string();
            self.lines.push(line);
            self.partial.clear();
        }
        std::mem::take(&mut self.lines)
    }

    fn push(&mut self, mut bytes: &[u8]) {
        if self.tapped {
            self.split_lines(bytes);
        }
        self.seen += bytes.len() as u64;
        let half = CAPTURE / 2;
        let room = half.saturating_sub(self.head.len()).min(bytes.len());
        self.head.extend_from_slice(&bytes[..room]);
        bytes = &bytes[room..];
        if bytes.len() > half {
            bytes = &bytes[bytes.len() - half..];
        }
        self.tail.extend(bytes);
        let over = self.tail.len().saturating_sub(half);
        self.tail.drain(..over);
    }

    pub fn truncated(&self) -> bool {
        self.seen > (self.head.len() + self.tail.len()) as u64
    }

    /// The text kept, with a marker where bytes were dropped.
    pub fn text(&self) -> String {
        let head = String::from_utf8_lossy(&self.head);
        let tail: Vec<u8> = self.tail.iter().copied().collect();
        let tail = String::from_utf8_lossy(&tail);
        if self.truncated() {
            let dropped = self.seen - (self.head.len() + self.tail.len()) as u64;
            format!("{head}\n… (truncated: {dropped} bytes not kept) …\n{tail}")
        } else {
            format!("{head}{tail}")
        }
    }
}

trait Source: Read + AsFd + Send {}
impl<T: Read + AsFd + Send> Source for T {}

/// Runs `spec` to its end (blocking; async callers use `spawn_blocking`). Err only when the
/// program could not be started, with a message naming it.
pub(crate) fn run(spec: &Spec<'_>) -> Result<Finished, String> {
    let Some((program, args)) = spec.argv.split_first() else { return Err("nothing to run".into()) };
    let mut cmd = Command::new(program);
    cmd.args(args).env_clear().stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    for k in BASE_ENV.iter().copied().chain(spec.env_allow.iter().map(String::as_str)) {
        if let Some(v) = std::env::var_os(k) {
            cmd.env(k, v);
        }
    }
    if let Some(d) = spec.working_dir {
        cmd.current_dir(d);
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot run {program}: {e}"))?;
    let pid = Pid::from_child(&child);
    let mut pipes: [Option<Box<dyn Source>>; 2] =
        [child.stdout.take().map(|p| Box::new(p) as Box<dyn Source>), child.stderr.take().map(|p| Box::new(p) as Box<dyn Source>)];
    let tapped = spec.on_line.is_some();
    let mut caps = [Capture { tapped, ..Capture::default() }, Capture { tapped, ..Capture::default() }];
    let deadline = Instant::now() + spec.timeout;
    let mut exited_at: Option<Instant> = None;
    let tap = |caps: &mut [Capture; 2], last: bool| {
        if let Some(cb) = spec.on_line {
            for (i, c) in caps.iter_mut().enumerate() {
                for l in c.take_lines(last) {
                    cb(i == 1, &l);
                }
            }
        }
    };
    let ended = loop {
        pump(&mut pipes, &mut caps, TICK);
        tap(&mut caps, false);
        if exited_at.is_none() && has_exited(pid) {
            exited_at = Some(Instant::now());
        }
        if let Some(at) = exited_at {
            if pipes.iter().all(Option::is_none) || at.elapsed() >= AFTER_EXIT {
                match spec.leftovers {
                    // The leader is not reaped yet, so the group id cannot belong to anyone else.
                    Leftovers::Kill => {
                        let _ = kill_process_group(pid, Signal::KILL);
                    }
                    Leftovers::Keep => discard_until_closed(&mut pipes),
                }
                break child.wait().map_or_else(|e| Ended::Lost(e.to_string()), Ended::Exited);
            }
            continue;
        }
        let cancelled = spec.cancel.is_some_and(CancellationToken::is_cancelled);
        if cancelled || Instant::now() >= deadline {
            stop_group(pid, &mut pipes, &mut caps);
            let _ = child.wait();
            break if cancelled { Ended::Cancelled } else { Ended::TimedOut };
        }
    };
    tap(&mut caps, true);
    let [stdout, stderr] = caps;
    Ok(Finished { ended, stdout, stderr })
}

/// A process left running still holds the pipes: closing them would make its next write fail
/// (EPIPE, or SIGPIPE kills it), so a detached thread reads and drops what it prints until it
/// closes them. A plain thread, not a runtime's blocking task, so shutdown never waits for it.
fn discard_until_closed(pipes: &mut [Option<Box<dyn Source>>; 2]) {
    for p in pipes.iter_mut().filter_map(Option::take) {
        let spawned = std::thread::Builder::new().name("leftover-output".into()).spawn(move || {
            let mut p = p;
            let _ = std::io::copy(&mut p, &mut std::io::sink());
        });
        if let Err(e) = spawned {
            tracing::warn!("cannot keep reading the output of a process left running: {e}");
        }
    }
}

/// SIGTERM to the group, a grace for the program to exit, then SIGKILL to whatever is left.
fn stop_group(pid: Pid, pipes: &mut [Option<Box<dyn Source>>; 2], caps: &mut [Capture; 2]) {
    let _ = kill_process_group(pid, Signal::TERM);
    let grace = Instant::now() + TERM_GRACE;
    while Instant::now() < grace && !has_exited(pid) {
        pump(pipes, caps, TICK);
    }
    let _ = kill_process_group(pid, Signal::KILL);
}

/// Whether the child has exited, without reaping it (its pid, and so its group id, stay taken).
fn has_exited(pid: Pid) -> bool {
    match waitid(WaitId::Pid(pid), WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT) {
        Ok(status) => status.is_some(),
        // Not our child any more: nothing left to wait for.
        Err(_) => true,
    }
}

/// Reads whatever the open pipes have, waiting at most `wait` for something to arrive.
fn pump(pipes: &mut [Option<Box<dyn Source>>; 2], caps: &mut [Capture; 2], wait: Duration) {
    let ready: Vec<usize> = {
        let mut fds = Vec::new();
        let mut which = Vec::new();
        for (i, p) in pipes.iter().enumerate() {
            if let Some(p) = p {
                fds.push(PollFd::new(p, PollFlags::IN));
                which.push(i);
            }
        }
        let ts = Timespec { tv_sec: 0, tv_nsec: wait.subsec_nanos().into() };
        if fds.is_empty() {
            std::thread::sleep(wait);
            return;
        }
        if poll(&mut fds, Some(&ts)).is_err() {
            return;
        }
        fds.iter().zip(which).filter(|(f, _)| !f.revents().is_empty()).map(|(_, i)| i).collect()
    };
    let mut buf = [0u8; 16 * 1024];
    for i in ready {
        let Some(p) = pipes[i].as_mut() else { continue };
        match p.read(&mut buf) {
            Ok(0) => pipes[i] = None,
            Ok(n) => caps[i].push(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => pipes[i] = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_keeps_head_and_tail_and_says_it_cut() {
        let mut c = Capture::default();
        c.push(b"first line\n");
        assert_eq!(c.text(), "first line\n");
        assert!(!c.truncated());
        for _ in 0..20 {
            c.push(&[b'x'; 8192]);
        }
        c.push(b"\nlast line");
        assert!(c.truncated());
        let t = c.text();
        assert!(t.starts_with("first line\n"), "{}", &t[..40]);
        assert!(t.ends_with("\nlast line"));
        assert!(t.contains("(truncated: "));
        assert!(t.len() < CAPTURE + 100, "{}", t.len());
    }

    #[test]
    fn lines_are_handed_over_as_they_are_written_and_the_last_unfinished_one_at_the_end() {
        let seen = std::sync::Mutex::new(Vec::new());
        let tap = |err: bool, l: &str| seen.lock().unwrap().push((err, l.to_string()));
        let argv: Vec<String> =
            ["/bin/sh", "-c", "echo one; echo two >&2; printf 'three\\r\\nfour'"].iter().map(|s| s.to_string()).collect();
        let spec = Spec {
            argv: &argv,
            working_dir: None,
            env_allow: &[],
            timeout: Duration::from_secs(20),
            cancel: None,
            leftovers: Leftovers::Kill,
            on_line: Some(&tap),
        };
        let done = run(&spec).unwrap();
        assert!(matches!(done.ended, Ended::Exited(s) if s.success()));
        let mut got = seen.into_inner().unwrap();
        got.sort();
        let want: Vec<(bool, String)> = vec![(false, "four".into()), (false, "one".into()), (false, "three".into()), (true, "two".into())];
        assert_eq!(got, want);
        // The capture is unchanged by the tap.
        assert_eq!(done.stdout.text(), "one\nthree\r\nfour");
    }
}
