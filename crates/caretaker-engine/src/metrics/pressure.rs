//! Memory pressure as the OS itself reports it: Linux PSI (`/proc/pressure/memory`) and macOS's
//! `kern.memorystatus_vm_pressure_level`. Both systems fill spare RAM with cache, so "used %" is
//! high on a healthy machine; pressure says whether anything is actually waiting for memory.
//! The parsers are plain functions over recorded text; only the reads are per-OS.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// How hard the OS finds it to hand out memory, where it says so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum MemoryPressure {
    /// Linux PSI: the share of time (percent) in which some (`some`) or all (`full`) non-idle
    /// tasks were stalled waiting for memory.
    Psi { some: PsiLine, full: Option<PsiLine> },
    /// macOS's own verdict, as Activity Monitor's memory pressure graph colours it.
    Macos { level: PressureLevel },
}

/// One line of a PSI file: averages over 10 s, 60 s and 300 s, and the stalled time since boot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
pub struct PsiLine {
    pub avg10: f64,
    pub avg60: f64,
    pub avg300: f64,
    /// Microseconds stalled since boot.
    pub total_us: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum PressureLevel {
    Normal,
    Warning,
    Critical,
}

impl PressureLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            PressureLevel::Normal => "normal",
            PressureLevel::Warning => "warning",
            PressureLevel::Critical => "critical",
        }
    }

    /// The value the kernel reports for this level.
    pub fn kernel_value(self) -> u8 {
        match self {
            PressureLevel::Normal => 1,
            PressureLevel::Warning => 2,
            PressureLevel::Critical => 4,
        }
    }
}

fn parse_psi_line(fields: &str) -> Option<PsiLine> {
    let (mut avg10, mut avg60, mut avg300, mut total) = (None, None, None, None);
    for pair in fields.split_whitespace() {
        let (key, value) = pair.split_once('=')?;
        let pct = || value.parse::<f64>().ok().filter(|v| (0.0..=100.0).contains(v));
        match key {
            "avg10" => avg10 = pct(),
            "avg60" => avg60 = pct(),
            "avg300" => avg300 = pct(),
            "total" => total = value.parse::<u64>().ok(),
            // Newer kernels may add fields; they do not make the known ones wrong.
            _ => {}
        }
    }
    Some(PsiLine { avg10: avg10?, avg60: avg60?, avg300: avg300?, total_us: total? })
}

/// Reads the text of `/proc/pressure/memory`. None when its `some` line is missing or malformed
/// (a kernel without PSI has no such file at all; the caller treats both the same).
pub fn parse_psi(text: &str) -> Option<MemoryPressure> {
    let (mut some, mut full) = (None, None);
    for line in text.lines() {
        match line.trim().split_once(' ') {
            Some(("some", rest)) => some = parse_psi_line(rest),
            Some(("full", rest)) => full = parse_psi_line(rest),
            _ => {}
        }
    }
    Some(MemoryPressure::Psi { some: some?, full })
}

/// Reads the output of `sysctl -n kern.memorystatus_vm_pressure_level`: 1 normal, 2 warning,
/// 4 critical; anything else is no reading.
pub fn parse_macos_level(text: &str) -> Option<MemoryPressure> {
    let level = match text.trim().parse::<u32>().ok()? {
        1 => PressureLevel::Normal,
        2 => PressureLevel::Warning,
        4 => PressureLevel::Critical,
        _ => return None,
    };
    Some(MemoryPressure::Macos { level })
}

/// This machine's memory pressure now; None where the OS reports none (no PSI in the kernel,
/// another OS) or the reading failed. Never an error: the memory rule then judges used %.
pub fn read() -> Option<MemoryPressure> {
    read_os()
}

#[cfg(target_os = "linux")]
fn read_os() -> Option<MemoryPressure> {
    std::fs::read_to_string("/proc/pressure/memory").ok().and_then(|t| parse_psi(&t))
}

#[cfg(target_os = "macos")]
fn read_os() -> Option<MemoryPressure> {
    // The full path: a LaunchAgent's PATH is not the person's.
    let out = std::process::Command::new("/usr/sbin/sysctl")
        .args(["-n", "kern.memorystatus_vm_pressure_level"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    parse_macos_level(&String::from_utf8_lossy(&out.stdout))
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn read_os() -> Option<MemoryPressure> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/proc/pressure/memory` as read on a Linux 6.18 build machine, lightly loaded.
    const LINUX_6_18: &str = "some avg10=0.44 avg60=0.09 avg300=0.02 total=12393322\n\
                              full avg10=0.14 avg60=0.03 avg300=0.00 total=8145053\n";

    #[test]
    fn reads_a_recorded_psi_file() {
        let Some(MemoryPressure::Psi { some, full }) = parse_psi(LINUX_6_18) else { panic!("no reading") };
        assert_eq!(some, PsiLine { avg10: 0.44, avg60: 0.09, avg300: 0.02, total_us: 12_393_322 });
        assert_eq!(full, Some(PsiLine { avg10: 0.14, avg60: 0.03, avg300: 0.0, total_us: 8_145_053 }));
    }

    #[test]
    fn a_kernel_without_psi_or_a_broken_file_is_no_reading() {
        // No PSI: the file is absent, or (psi=0 on the command line) reading it fails; both
        // reach the parser as nothing to read.
        assert_eq!(parse_psi(""), None);
        assert_eq!(parse_psi("some avg10=0.44 avg60=oops avg300=0.02 total=1\n"), None);
        assert_eq!(parse_psi("full avg10=0.14 avg60=0.03 avg300=0.00 total=8145053\n"), None, "no `some` line");
        assert_eq!(parse_psi("some avg10=0.44 avg60=140 avg300=0.02 total=1\n"), None, "not a percentage");
        // An older kernel whose memory file had no `full` line still gives the `some` reading,
        // and a field a newer kernel adds is passed over.
        let Some(MemoryPressure::Psi { some, full }) = parse_psi("some avg10=1.00 avg60=34.50 avg300=3.00 total=9 extra=1\n") else {
            panic!("no reading")
        };
        assert_eq!((some.avg60, full), (34.5, None));
    }

    #[test]
    fn reads_the_macos_levels_and_nothing_else() {
        let level = |t: &str| match parse_macos_level(t) {
            Some(MemoryPressure::Macos { level }) => Some(level),
            _ => None,
        };
        assert_eq!(level("1\n"), Some(PressureLevel::Normal));
        assert_eq!(level("2\n"), Some(PressureLevel::Warning));
        assert_eq!(level("4\n"), Some(PressureLevel::Critical));
        for other in ["0\n", "3\n", "8\n", "", "sysctl: unknown oid 'kern.memorystatus_vm_pressure_level'\n", "-1"] {
            assert_eq!(level(other), None, "{other:?}");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_linux_host_gives_a_reading_exactly_when_it_has_psi() {
        let has_psi = std::fs::read_to_string("/proc/pressure/memory").is_ok();
        assert_eq!(read().is_some(), has_psi);
    }
}
