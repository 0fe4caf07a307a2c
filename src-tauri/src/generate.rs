//! What the contract (contract.rs) writes outside Rust: the UI's TypeScript command map and the
//! main window's grants in capabilities/main.json. Tests compare both with the committed files
//! and rewrite them under `UPDATE_BINDINGS=1`.

use std::collections::BTreeSet;
use std::fmt::Write;
use ts_rs::{Config, Dependency, TypeVisitor, TS};

/// Where the map sits relative to the engine's bindings.
const BINDINGS_FROM_MAP: &str = "../bindings";

/// As the engine's bindings are written (caretaker_engine::bindings): 64-bit integers are numbers.
fn config() -> Config {
    Config::new().with_large_int("number")
}

/// A Rust type as TypeScript: its name, and the exported bindings that name refers to.
pub struct Type {
    ts: String,
    /// (TypeScript name, file under ui/src/bindings)
    imports: BTreeSet<(String, String)>,
}

impl Type {
    pub fn of<T: TS + 'static + ?Sized>() -> Self {
        struct Collect<'a>(&'a Config, &'a mut BTreeSet<(String, String)>);
        impl TypeVisitor for Collect<'_> {
            fn visit<U: TS + 'static + ?Sized>(&mut self) {
                if let Some(d) = Dependency::from_ty::<U>(self.0) {
                    self.1.insert((d.ts_name, d.output_path.to_string_lossy().replace('\\', "/")));
                }
            }
        }
        let cfg = config();
        let mut imports = BTreeSet::new();
        let mut collect = Collect(&cfg, &mut imports);
        // The type itself, then whatever it is made of (`Option<Vec<Alert>>` reaches `Alert`).
        collect.visit::<T>();
        T::visit_generics(&mut collect);
        Type { ts: T::name(&cfg), imports }
    }
}

/// One row of the contract.
pub struct Command {
    pub name: &'static str,
    pub docs: Vec<&'static str>,
    /// Rust argument names, in order.
    pub args: Vec<(&'static str, Type)>,
    pub response: Type,
}

impl Command {
    /// (TypeScript name, file under ui/src/bindings) of every binding this command names.
    pub fn imports(&self) -> BTreeSet<(String, String)> {
        self.args.iter().map(|(_, t)| t).chain([&self.response]).flat_map(|t| t.imports.iter().cloned()).collect()
    }
}

/// The key `invoke` expects for a Rust argument: Tauri renames `read_data` to `readData`.
pub fn argument_key(rust: &str) -> String {
    let mut out = String::with_capacity(rust.len());
    let mut upper = false;
    for c in rust.chars() {
        if c == '_' {
            upper = !out.is_empty();
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The permission build.rs makes for a command.
pub fn permission(command: &str) -> String {
    format!("allow-{}", command.replace('_', "-"))
}

fn write_docs(out: &mut String, docs: &[&str], indent: &str) {
    let lines: Vec<&str> = docs.iter().map(|d| d.strip_prefix(' ').unwrap_or(d).trim_end()).collect();
    match lines.as_slice() {
        [] => {}
        [one] => writeln!(out, "{indent}/** {one} */").unwrap(),
        many => {
            writeln!(out, "{indent}/**").unwrap();
            for l in many {
                writeln!(out, "{indent} * {l}").unwrap();
            }
            writeln!(out, "{indent} */").unwrap();
        }
    }
}

/// ui/src/platform/commands.gen.ts: every command's request and response, typed by the engine's
/// bindings.
pub fn command_map(commands: &[Command]) -> String {
    let mut out = String::new();
    out.push_str("// Generated from src-tauri/src/contract.rs. Do not edit: change the contract, then run\n");
    out.push_str("// `UPDATE_BINDINGS=1 cargo test -p caretaker-app`.\n");
    let imports: BTreeSet<(String, String)> = commands.iter().flat_map(|c| c.imports()).collect();
    for (name, file) in &imports {
        let module = file.strip_suffix(".ts").unwrap_or(file);
        writeln!(out, "import type {{ {name} }} from \"{BINDINGS_FROM_MAP}/{module}\";").unwrap();
    }
    out.push('\n');
    out.push_str("/** Every command the shell exposes: name -> request (keyed as `invoke` takes it) and response. */\n");
    out.push_str("export interface Commands {\n");
    for c in commands {
        write_docs(&mut out, &c.docs, "  ");
        let req = if c.args.is_empty() {
            "Record<string, never>".to_string()
        } else {
            let fields: Vec<String> = c.args.iter().map(|(n, t)| format!("{}: {}", argument_key(n), t.ts)).collect();
            format!("{{ {} }}", fields.join("; "))
        };
        writeln!(out, "  {}: {{ req: {req}; res: {} }};", c.name, c.response.ts).unwrap();
    }
    out.push_str("}\n");
    out
}

/// capabilities/main.json with its grants set to the given commands' permissions, after the
/// core and plugin permissions (those with a `:`) it already lists. The rest of the text is kept.
pub fn with_command_permissions(json: &str, commands: &[&str]) -> String {
    let key = "\"permissions\": [";
    let start = json.find(key).expect("capabilities/main.json has a \"permissions\" list") + key.len();
    let end = start + json[start..].find(']').expect("the \"permissions\" list ends");
    let current: Vec<String> = serde_json::from_str(&format!("[{}]", &json[start..end])).expect("permissions are strings");
    let kept = current.into_iter().filter(|p| p.contains(':'));
    let all: Vec<String> = kept.chain(commands.iter().map(|c| permission(c))).collect();
    let list: Vec<String> = all.iter().map(|p| format!("    {}", serde_json::Value::from(p.as_str()))).collect();
    format!("{}\n{}\n  {}", &json[..start], list.join(",\n"), &json[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_keys_are_what_tauri_expects() {
        assert_eq!(argument_key("plan"), "plan");
        assert_eq!(argument_key("read_data"), "readData");
        assert_eq!(argument_key("cadence_minutes"), "cadenceMinutes");
        assert_eq!(argument_key("include_dismissed"), "includeDismissed");
    }

    #[test]
    fn types_name_their_bindings() {
        let t = Type::of::<Option<Vec<caretaker_engine::Alert>>>();
        assert_eq!(t.ts, "Array<Alert> | null");
        assert_eq!(t.imports.into_iter().collect::<Vec<_>>(), [("Alert".to_string(), "Alert.ts".to_string())]);
        assert_eq!(Type::of::<()>().ts, "null");
        assert_eq!(Type::of::<i64>().ts, "number");
    }

    #[test]
    fn permissions_are_rewritten_in_place() {
        let json = "{\n  \"windows\": [\"main\"],\n  \"permissions\": [\n    \"core:event:allow-listen\",\n    \"allow-old\"\n  ]\n}\n";
        let want = "{\n  \"windows\": [\"main\"],\n  \"permissions\": [\n    \"core:event:allow-listen\",\n    \"allow-list-checks\",\n    \"allow-snapshot\"\n  ]\n}\n";
        assert_eq!(with_command_permissions(json, &["list_checks", "snapshot"]), want);
    }
}
