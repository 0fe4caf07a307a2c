//! `hot.ld` orders the code of every Linux release link of `caretaker` (see build.rs). Debug
//! builds and tests never use it, so a malformed line would first break a release build: this
//! links a small program with it, with the same compiler and linker, and checks what it promises.
#![cfg(target_os = "linux")]

use std::path::Path;
use std::process::Command;

#[test]
fn the_hot_function_script_links_places_listed_functions_first_and_keeps_one_text_section() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("hot.ld")).expect("hot.ld");
    // The same script with one more function listed first: the small program's own.
    let marker = "SECTIONS {\n  .text : {\n";
    assert!(script.contains(marker), "hot.ld no longer starts its .text the way this test extends it");
    let script = script.replacen(marker, &format!("{marker}    *(.text.*probe_listed_first*)\n"), 1);
    let ld = dir.path().join("hot.ld");
    std::fs::write(&ld, script).expect("write script");
    let src = dir.path().join("main.rs");
    std::fs::write(
        &src,
        "#[inline(never)] pub fn probe_listed_first(x: u64) -> u64 { x.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 7 }\n\
         fn main() { std::process::exit((probe_listed_first(std::env::args().count() as u64) == 1) as i32) }\n",
    )
    .expect("write program");
    let prog = dir.path().join("prog");
    let out = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .args(["-O", "-C", &format!("link-arg=-Wl,-T,{}", ld.display()), "-o"])
        .arg(&prog)
        .arg(&src)
        .output()
        .expect("run rustc");
    assert!(out.status.success(), "linking with hot.ld failed:\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(Command::new(&prog).status().expect("run the program").success());

    let sections = Command::new("readelf").arg("-SW").arg(&prog).output().expect("readelf");
    let sections = String::from_utf8_lossy(&sections.stdout);
    let text: Vec<&str> = sections.lines().filter(|l| l.split_whitespace().any(|w| w.starts_with(".text"))).collect();
    // One .text: profilers such as valgrind only read symbols inside it.
    assert_eq!(text.len(), 1, "expected one .text section:\n{sections}");
    let text_start = text[0]
        .split_whitespace()
        .skip_while(|w| !w.starts_with(".text"))
        .nth(2)
        .and_then(|a| u64::from_str_radix(a, 16).ok())
        .expect(".text address");

    let symbols = Command::new("nm").arg(&prog).output().expect("nm");
    let symbols = String::from_utf8_lossy(&symbols.stdout);
    let probe = symbols
        .lines()
        .find(|l| l.contains("probe_listed_first"))
        .and_then(|l| u64::from_str_radix(l.split_whitespace().next()?, 16).ok())
        .expect("the probe function in the symbol table");
    assert_eq!(probe, text_start, "the function listed first is not at the start of .text");
}
