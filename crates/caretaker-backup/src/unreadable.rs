//! The files and folders a backup could not read.
//!
//! rustic_core's archiver leaves each one out and carries on; it says so only through the `log`
//! facade (`ignoring error: …`, target `rustic_core::archiver`), with the path in its error's
//! text, and its snapshot summary has no count of them. This logger is how the worker hears of
//! them: it counts every such record and keeps the first [`UNREADABLE_KEPT`] with a reason.

use caretaker_engine::backup::protocol::{UnreadableItem, UnreadableReason, UNREADABLE_KEPT};
use std::sync::Mutex;

/// What rustic_core's archiver writes before the text of an error it skipped. The size scan
/// logs the same failures again from another module (without the colon): those are not counted.
const SKIPPED: &str = "ignoring error: ";
const ARCHIVER: &str = "rustic_core::archiver";

#[derive(Default)]
struct Seen {
    count: u64,
    items: Vec<UnreadableItem>,
}

static SEEN: Mutex<Seen> = Mutex::new(Seen { count: 0, items: Vec::new() });

struct Collector;

impl log::Log for Collector {
    fn enabled(&self, meta: &log::Metadata<'_>) -> bool {
        meta.level() <= log::Level::Warn && meta.target().starts_with(ARCHIVER)
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let text = record.args().to_string();
        if let Some(error) = text.strip_prefix(SKIPPED) {
            note(error);
        }
    }

    fn flush(&self) {}
}

fn note(error: &str) {
    let mut seen = SEEN.lock().unwrap_or_else(|p| p.into_inner());
    seen.count += 1;
    if seen.items.len() < UNREADABLE_KEPT {
        seen.items.push(parse(error));
    }
}

/// Installs the collector (once per process; a second call changes nothing).
pub fn install() {
    static COLLECTOR: Collector = Collector;
    if log::set_logger(&COLLECTOR).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
}

/// Starts counting afresh (the worker runs one backup per process; a safety snapshot before a
/// restore is not the person's backup and is not reported this way).
pub fn reset() {
    *SEEN.lock().unwrap_or_else(|p| p.into_inner()) = Seen::default();
}

/// How many items were left out since [`reset`], and the first ones by name.
pub fn take() -> (u64, Vec<UnreadableItem>) {
    let seen = std::mem::take(&mut *SEEN.lock().unwrap_or_else(|p| p.into_inner()));
    (seen.count, seen.items)
}

/// One skipped item from rustic's text of its error. rustic names the path in one of three ways:
/// quoted in its own guidance (`Failed to open file at `/a/b``), as the cause given by the
/// folder walker (`caused by: /a/b: Permission denied (os error 13)`), or inside the walker's
/// debug form (`path: "/a/b"`) when the item vanished before its metadata was read.
pub(crate) fn parse(error: &str) -> UnreadableItem {
    let error = error.trim().trim_start_matches("Error: ");
    let cause = error.rsplit_once("caused by: ").map_or(error, |(_, c)| c).trim();
    let cause = cause.split(" : (source:").next().unwrap_or(cause).trim();
    let path = quoted_path(error, '`', '`')
        .or_else(|| walker_path(cause))
        .or_else(|| error.split_once("path: \"").and_then(|(_, rest)| rest.split_once('"')).map(|(p, _)| p.to_string()))
        .unwrap_or_default();
    let message = match walker_path(cause) {
        Some(p) => walker_message(cause, &p).trim().to_string(),
        None => cause.to_string(),
    };
    UnreadableItem { path, reason: reason(error), message }
}

fn quoted_path(text: &str, open: char, close: char) -> Option<String> {
    let mut rest = text;
    while let Some((_, after)) = rest.split_once(open) {
        let (inside, tail) = after.split_once(close)?;
        if inside.starts_with('/') {
            return Some(inside.to_string());
        }
        rest = tail;
    }
    None
}

/// `/a/b: IO error for operation on /a/b: Permission denied (os error 13)`, as the walker's error
/// reads: the path is the prefix its own message repeats (a path may itself hold ": "), or else
/// everything before the last ": ".
fn walker_path(cause: &str) -> Option<String> {
    if !cause.starts_with('/') {
        return None;
    }
    let repeated = cause
        .match_indices(": ")
        .map(|(i, _)| &cause[..i])
        .find(|p| cause[p.len() + 2..].strip_prefix(IO_ON).is_some_and(|rest| rest.starts_with(&format!("{p}: "))));
    let path = repeated.or_else(|| cause.rsplit_once(": ").map(|(p, _)| p))?;
    Some(path.to_string())
}

const IO_ON: &str = "IO error for operation on ";

/// The system's words once the walker's path (given once or twice) is taken off.
fn walker_message<'a>(cause: &'a str, path: &str) -> &'a str {
    let rest = cause[path.len()..].trim_start_matches(": ");
    rest.strip_prefix(IO_ON).and_then(|r| r.strip_prefix(path)).map_or(rest, |r| r.trim_start_matches(": "))
}

fn reason(error: &str) -> UnreadableReason {
    let has = |needles: &[&str]| needles.iter().any(|n| error.contains(n));
    // EACCES, and EPERM: what macOS answers for a folder its privacy protection keeps closed.
    if has(&["(os error 13)", "(os error 1)", "code: 13,", "code: 1,", "PermissionDenied", "Permission denied", "Operation not permitted"])
    {
        UnreadableReason::PermissionDenied
    } else if has(&["(os error 2)", "code: 2,", "NotFound", "No such file or directory"]) {
        UnreadableReason::Vanished
    } else {
        UnreadableReason::Io
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_and_path_are_read_from_each_shape_rustic_writes() {
        let open = "Error: Failed to open ReadSourceOpen at `/src/secret.txt`\nFailed to open file at `/src/secret.txt`. Please make sure the file exists and is accessible. (kind: related to input/output operations): caused by: Permission denied (os error 13)";
        let item = parse(open);
        assert_eq!((item.path.as_str(), item.reason), ("/src/secret.txt", UnreadableReason::PermissionDenied));
        assert_eq!(item.message, "Permission denied (os error 13)");

        let walk = "Error: Failed to get next entry from walk iterator. (kind: related to internal errors): caused by: /src/Mail: odd: IO error for operation on /src/Mail: odd: Operation not permitted (os error 1)";
        let item = parse(walk);
        assert_eq!((item.path.as_str(), item.reason), ("/src/Mail: odd", UnreadableReason::PermissionDenied));
        assert_eq!(item.message, "Operation not permitted (os error 1)");
        let short = parse("Error: Failed (kind: x): caused by: /src/Mail: Permission denied (os error 13)");
        assert_eq!((short.path.as_str(), short.message.as_str()), ("/src/Mail", "Permission denied (os error 13)"));

        let gone = "Error: Failed to map Directory entry to ReadSourceEntry. (kind: related to internal errors): caused by: Error acquiring metadata for `a.txt`: `WithPath { path: \"/src/a.txt\", err: Io(Os { code: 2, kind: NotFound, message: \"No such file or directory\" }) }`";
        let item = parse(gone);
        assert_eq!((item.path.as_str(), item.reason), ("/src/a.txt", UnreadableReason::Vanished));

        let io = "Error: Error while backing up `/src/disk.img` (kind: related to input/output operations): caused by: Input/output error (os error 5)";
        let item = parse(io);
        assert_eq!((item.path.as_str(), item.reason), ("/src/disk.img", UnreadableReason::Io));

        let odd = parse("something rustic never said before");
        assert_eq!((odd.path.as_str(), odd.reason), ("", UnreadableReason::Io));
        assert_eq!(odd.message, "something rustic never said before");
    }

    #[test]
    fn every_skip_is_counted_and_the_first_ones_are_kept() {
        reset();
        for i in 0..UNREADABLE_KEPT + 7 {
            note(&format!("Failed to open file at `/s/{i}` (kind: x): caused by: Permission denied (os error 13)"));
        }
        let (count, items) = take();
        assert_eq!(count, (UNREADABLE_KEPT + 7) as u64);
        assert_eq!(items.len(), UNREADABLE_KEPT);
        assert_eq!(items[0].path, "/s/0");
        assert_eq!(take().0, 0, "taken once");
    }
}
