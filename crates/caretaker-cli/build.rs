//! Release builds on Linux link the `caretaker` binary with `hot.ld`, a linker script that places
//! the functions the resident engine runs together at the front of its code. The kernel maps a
//! program's code 64 KiB around every page it touches, so the engine's code scattered among the
//! backup worker's and the one-shot commands' made most of the 29 MiB of code resident; packed,
//! the engine keeps 3.6 MiB of it resident (bench/host_overhead.sh). The script only orders sections
//! (GNU ld and lld both read it); a name it lists that no longer exists is skipped, so a stale list
//! costs memory, never a failed build. `scripts/hot-functions.sh` regenerates it.

fn main() {
    println!("cargo:rerun-if-changed=hot.ld");
    println!("cargo:rerun-if-changed=build.rs");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if release && linux {
        let script = std::path::Path::new(&std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default()).join("hot.ld");
        println!("cargo:rustc-link-arg-bin=caretaker=-Wl,-T,{}", script.display());
        // Relative relocations packed (DT_RELR): the loader reads ~10 KiB of them at start instead
        // of 1 MiB of .rela.dyn, which stayed resident for the engine's whole life. The binary
        // then needs glibc 2.36 (Debian 12, Ubuntu 22.10), so only where the building machine
        // has it: a build on an older system still runs on that system.
        if building_for_glibc_at_least(2, 36) {
            println!("cargo:rustc-link-arg-bin=caretaker=-Wl,-z,pack-relative-relocs");
        }
    }
}

/// Whether this is a native build on a machine whose glibc is at least `major.minor`
/// (`getconf GNU_LIBC_VERSION` prints e.g. "glibc 2.36"). A cross build says no.
fn building_for_glibc_at_least(major: u32, minor: u32) -> bool {
    let native = std::env::var("HOST").ok() == std::env::var("TARGET").ok();
    let gnu = std::env::var("CARGO_CFG_TARGET_ENV").is_ok_and(|env| env == "gnu");
    if !native || !gnu {
        return false;
    }
    let Ok(out) = std::process::Command::new("getconf").arg("GNU_LIBC_VERSION").output() else { return false };
    let text = String::from_utf8_lossy(&out.stdout);
    let mut version = text.trim().trim_start_matches("glibc ").split('.').map(|p| p.parse::<u32>().ok());
    match (version.next().flatten(), version.next().flatten()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => false,
    }
}
