//! The engine's shape, enforced: every `crate::` and `super::` path in `src/**/*.rs` must point
//! at the same layer or a lower one (see the layer list in `src/lib.rs`). An import that goes up
//! fails this test with the file, the path and both layers named.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Layer {
    Foundation,
    Models,
    Core,
    Services,
    Composition,
    Adapters,
}

const FOUNDATION: &[&str] = &["error", "clock", "paths", "store", "lock", "sql_enum"];
/// The sanctioned upward edges: the engine starts the HTTP endpoint and the control socket it
/// serves, which talk to the handle like any other adapter; the handle restarts the endpoint
/// when its settings change.
const ALLOWED: &[(&str, &str)] = &[("engine", "http"), ("engine", "control"), ("handle", "http")];
/// Files below a capability folder that work through the core (the service and its parts; a
/// service's `schedule` holds what it runs on a timer).
const SERVICE_PARTS: &[&str] = &["service", "jobs", "plans", "health", "schedule", "settings"];

/// The layer of a module, given as its path from the crate root (`["backup", "jobs"]`).
fn layer_of(module: &[String]) -> Layer {
    let first = module.first().map(String::as_str).unwrap_or("");
    let last = module.last().map(String::as_str).unwrap_or("");
    match first {
        "" | "lib" | "engine" | "handle" => Layer::Composition,
        // `logging` installs the tracing subscriber for the binaries (with the log capture layer).
        "http" | "control" | "bindings" | "logging" => Layer::Adapters,
        "core" => Layer::Core,
        f if FOUNDATION.contains(&f) => Layer::Foundation,
        _ if module.len() > 1 && SERVICE_PARTS.contains(&last) => Layer::Services,
        _ => Layer::Models,
    }
}

/// Module path of a source file: `src/backup/jobs.rs` -> ["backup", "jobs"]; `mod.rs` is its folder.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file).with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|l| l == "mod") {
        parts.pop();
    }
    if parts == ["lib"] {
        parts.clear();
    }
    parts
}

/// The longest prefix of `path` that names a module with a file of its own.
fn resolve(modules: &[Vec<String>], path: &[String]) -> Vec<String> {
    (0..=path.len()).rev().map(|n| path[..n].to_vec()).find(|p| modules.contains(p)).unwrap_or_default()
}

/// Every path a file names through `crate::` or `super::`, expanded from `use` trees, as a
/// module path from the crate root. Test modules (`#[cfg(test)]` onwards) are not read.
fn paths_in(text: &str, here: &[String]) -> Vec<Vec<String>> {
    let code: String = text
        .split("#[cfg(test)]")
        .next()
        .unwrap_or("")
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    let bytes: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let rest: String = bytes[i..bytes.len().min(i + 7)].iter().collect();
        let (root, skip) = if rest.starts_with("crate::") {
            (Vec::new(), 7)
        } else if rest.starts_with("super::") {
            // The parent module (for `a/mod.rs`, whose module is `a`, that is the crate root).
            (here[..here.len().saturating_sub(1)].to_vec(), 7)
        } else {
            i += 1;
            continue;
        };
        let before = if i > 0 { bytes[i - 1] } else { ' ' };
        if before.is_alphanumeric() || before == '_' {
            i += 1;
            continue;
        }
        i += skip;
        let (trees, next) = parse_tree(&bytes, i);
        for t in trees {
            let mut p = root.clone();
            p.extend(t.into_iter().filter(|s| s != "self"));
            out.push(p);
        }
        i = next.max(i + 1);
    }
    out
}

/// Parses `a::b::{c, d::e}` from `at`; returns every leaf path and where parsing stopped.
fn parse_tree(s: &[char], mut at: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    loop {
        if at < s.len() && s[at] == '{' {
            let mut all = Vec::new();
            at += 1;
            loop {
                while at < s.len() && (s[at].is_whitespace() || s[at] == ',') {
                    at += 1;
                }
                if at >= s.len() || s[at] == '}' {
                    return (all.into_iter().map(|t: Vec<String>| [prefix.clone(), t].concat()).collect(), at + 1);
                }
                let (inner, next) = parse_tree(s, at);
                all.extend(inner);
                // Skip `as name` and anything else up to the next item.
                let mut j = next;
                while j < s.len() && s[j] != ',' && s[j] != '}' {
                    j += 1;
                }
                at = j;
            }
        }
        let start = at;
        while at < s.len() && (s[at].is_alphanumeric() || s[at] == '_') {
            at += 1;
        }
        if start == at {
            return (vec![prefix], at);
        }
        prefix.push(s[start..at].iter().collect());
        if at + 1 < s.len() && s[at] == ':' && s[at + 1] == ':' {
            at += 2;
        } else {
            return (vec![prefix], at);
        }
    }
}

/// Root re-exports (`pub use engine::{Engine, …}` in lib.rs) lead to their defining module.
fn reexports(lib: &str) -> BTreeMap<String, Vec<String>> {
    let mut map = BTreeMap::new();
    for stmt in lib.split(';').map(str::trim).filter(|s| s.starts_with("pub use ")) {
        let chars: Vec<char> = stmt["pub use ".len()..].chars().collect();
        for path in parse_tree(&chars, 0).0 {
            if let Some((name, module)) = path.split_last() {
                map.insert(name.clone(), module.to_vec());
            }
        }
    }
    map
}

/// Every upward import in the given (file, text) set, as readable lines.
fn violations(src: &Path, files: &[(PathBuf, String)]) -> Vec<String> {
    let modules: Vec<Vec<String>> = files.iter().map(|(f, _)| module_of(src, f)).collect();
    let lib = files.iter().find(|(f, _)| f.ends_with("lib.rs")).map(|(_, t)| t.as_str()).unwrap_or("");
    let roots = reexports(lib);
    let mut out = Vec::new();
    for (file, text) in files {
        if file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let here = module_of(src, file);
        let from = layer_of(&here);
        for path in paths_in(text, &here) {
            let path = match path.first().and_then(|n| roots.get(n)) {
                Some(m) if path.len() == 1 || !modules.contains(&path[..1].to_vec()) => [m.clone(), path.clone()].concat(),
                _ => path,
            };
            let target = resolve(&modules, &path);
            if target.is_empty() || target == here {
                continue;
            }
            let to = layer_of(&target);
            let allowed = ALLOWED.iter().any(|(a, b)| here.first().is_some_and(|h| h == a) && target.first().is_some_and(|t| t == b));
            if to > from && !allowed {
                out.push(format!("{} ({from:?}) imports crate::{} ({to:?})", file.display(), path.join("::")));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

fn sources(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push((p.clone(), std::fs::read_to_string(&p).unwrap_or_default()));
        }
    }
}

#[test]
fn no_source_file_imports_from_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 30, "read only {} files from {}", files.len(), src.display());
    let bad = violations(&src, &files);
    assert!(bad.is_empty(), "imports that go up the layers:\n{}", bad.join("\n"));
}

#[test]
fn an_upward_import_is_caught() {
    let src = PathBuf::from("/src");
    let file = |p: &str, t: &str| (src.join(p), t.to_string());
    let files = vec![
        file("lib.rs", "pub use handle::EngineHandle;\npub use error::Result;"),
        file("error.rs", "use crate::config::ConfigIssue;"),
        file("config/mod.rs", "use crate::error::Result;"),
        file("handle.rs", "use crate::core::Core;"),
        file("core.rs", "use crate::{alerts::Alerts, error::Result};"),
        file("alerts/mod.rs", "use crate::EngineHandle;\nuse crate::Result;"),
        file("alerts/service.rs", "use super::Alerts;\nuse crate::core::Core;"),
        file("checks/store.rs", "fn f() { let _ = crate::checks::service::Service::new(); }"),
        file("checks/service.rs", "use super::{store, mod_thing};"),
        file("checks/mod.rs", ""),
    ];
    let bad = violations(&src, &files);
    assert_eq!(
        bad,
        vec![
            "/src/alerts/mod.rs (Models) imports crate::handle::EngineHandle (Composition)".to_string(),
            "/src/checks/store.rs (Models) imports crate::checks::service::Service::new (Services)".to_string(),
            "/src/error.rs (Foundation) imports crate::config::ConfigIssue (Models)".to_string(),
        ]
    );
}
