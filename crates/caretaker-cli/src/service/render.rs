//! The service files, one template per platform with `{{name}}` placeholders, filled with values
//! escaped for where they land (XML text in the plist, systemd's quoting in the unit). Pure.

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

const PLIST: &str = include_str!("launchd.plist");
const UNIT: &str = include_str!("systemd.service");

/// Seconds the service manager waits before starting the engine again after a crash.
pub const THROTTLE_SECS: u32 = 10;

/// What a service file says, whatever the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The launchd label (the app's bundle identifier); systemd names the unit by its file.
    pub label: String,
    /// The absolute path of the `caretaker` binary.
    pub exe: PathBuf,
    /// Set as CARETAKER_DATA_DIR when the person chose a data folder (always for a system service).
    pub data_dir: Option<PathBuf>,
    /// Where launchd writes the engine's stdout and stderr.
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    /// The account a system-wide service runs as; None for a per-user one.
    pub user: Option<String>,
}

fn text(p: &Path) -> Result<&str> {
    let Some(s) = p.to_str() else { bail!("the path {} is not valid UTF-8; a service file cannot name it", p.display()) };
    if !p.is_absolute() {
        bail!("the path {s} is not absolute; a service starts with no working folder to resolve it from");
    }
    Ok(s)
}

fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_string(), |t, (k, v)| t.replace(&format!("{{{{{k}}}}}"), v))
}

/// XML character data; control characters have no place in a plist string.
pub fn xml_escape(s: &str) -> Result<String> {
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        bail!("{s:?} contains the control character {c:?}, which a plist cannot hold");
    }
    Ok(s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;"))
}

/// One systemd word in double quotes: backslash and quote escaped, `%` doubled (specifiers), and
/// in command lines `$` doubled (variable expansion). Newlines cannot be expressed, so refused.
pub fn systemd_quote(s: &str, command_line: bool) -> Result<String> {
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        bail!("{s:?} contains the control character {c:?}, which a systemd unit cannot hold");
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            '$' if command_line => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out.push('"');
    Ok(out)
}

/// The service's environment: the chosen data folder; and for a system service, no keychain
/// (there is no login session to unlock one, so passwords live in the private file).
fn service_env(spec: &Spec) -> Result<Vec<(&'static str, String)>> {
    let mut env = Vec::new();
    if let Some(d) = &spec.data_dir {
        env.push((caretaker_engine::paths::DATA_DIR_ENV, text(d)?.to_string()));
    }
    if spec.user.is_some() {
        env.push((caretaker_engine::backup::secret::KEYCHAIN_ENV, "off".to_string()));
    }
    Ok(env)
}

pub fn plist(spec: &Spec) -> Result<String> {
    let env = service_env(spec)?;
    let mut environment = String::new();
    if !env.is_empty() {
        environment.push_str("\t<key>EnvironmentVariables</key>\n\t<dict>\n");
        for (k, v) in env {
            environment.push_str(&format!("\t\t<key>{k}</key>\n\t\t<string>{}</string>\n", xml_escape(&v)?));
        }
        environment.push_str("\t</dict>\n");
    }
    let user = match &spec.user {
        Some(u) => format!("\t<key>UserName</key>\n\t<string>{}</string>\n", xml_escape(u)?),
        None => String::new(),
    };
    Ok(fill(
        PLIST,
        &[
            ("label", &xml_escape(&spec.label)?),
            ("exe", &xml_escape(text(&spec.exe)?)?),
            ("throttle", &THROTTLE_SECS.to_string()),
            ("stdout", &xml_escape(text(&spec.stdout)?)?),
            ("stderr", &xml_escape(text(&spec.stderr)?)?),
            ("environment", &environment),
            ("user", &user),
        ],
    ))
}

pub fn unit(spec: &Spec) -> Result<String> {
    let mut environment = String::new();
    for (k, v) in service_env(spec)? {
        environment.push_str(&format!("Environment={}\n", systemd_quote(&format!("{k}={v}"), false)?));
    }
    let user = match &spec.user {
        Some(u) => format!("User={}\n", systemd_quote(u, false)?),
        None => String::new(),
    };
    let wanted_by = if spec.user.is_some() { "multi-user.target" } else { "default.target" };
    Ok(fill(
        UNIT,
        &[
            ("exe", &systemd_quote(text(&spec.exe)?, true)?),
            ("throttle", &THROTTLE_SECS.to_string()),
            ("environment", &environment),
            ("user", &user),
            ("wanted_by", wanted_by),
        ],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn spec(exe: &Path, data_dir: Option<&str>, user: Option<&str>) -> Spec {
        Spec {
            label: "app.caretaker.desktop".into(),
            exe: exe.to_path_buf(),
            data_dir: data_dir.map(PathBuf::from),
            stdout: "/Users/ann/Library/Application Support/Caretaker/logs/service.out.log".into(),
            stderr: "/Users/ann/Library/Application Support/Caretaker/logs/service.err.log".into(),
            user: user.map(String::from),
        }
    }

    #[test]
    fn escapes_for_xml_and_systemd() {
        assert_eq!(xml_escape("a&b<c>\"d'").unwrap(), "a&amp;b&lt;c&gt;&quot;d&apos;");
        assert!(xml_escape("a\nb").is_err());
        assert_eq!(systemd_quote("/opt/my app/%h$HOME\\\"", true).unwrap(), "\"/opt/my app/%%h$$HOME\\\\\\\"\"");
        assert_eq!(systemd_quote("A=$x%", false).unwrap(), "\"A=$x%%\"");
        assert!(systemd_quote("a\nExecStartPre=/bin/evil", true).is_err(), "a newline would add a directive");
    }

    #[test]
    fn no_placeholder_is_left_and_optional_blocks_come_and_go() {
        let s = spec(Path::new("/Applications/Caretaker & Co.app/caretaker"), None, None);
        let p = plist(&s).unwrap();
        assert!(!p.contains("{{"), "{p}");
        assert!(p.contains("<string>/Applications/Caretaker &amp; Co.app/caretaker</string>"), "{p}");
        assert!(!p.contains("EnvironmentVariables") && !p.contains("UserName"), "{p}");
        let u = unit(&s).unwrap();
        assert!(!u.contains("{{") && !u.contains("Environment=") && !u.contains("User="), "{u}");
        assert!(u.contains("ExecStart=\"/Applications/Caretaker & Co.app/caretaker\" run\n"), "{u}");
        assert!(u.contains("WantedBy=default.target\n"), "{u}");

        let s = spec(Path::new("/usr/bin/caretaker"), Some("/srv/care taker"), Some("ann"));
        let p = plist(&s).unwrap();
        assert!(p.contains("<key>CARETAKER_DATA_DIR</key>\n\t\t<string>/srv/care taker</string>"), "{p}");
        assert!(p.contains("<key>UserName</key>\n\t<string>ann</string>"), "{p}");
        let u = unit(&s).unwrap();
        assert!(u.contains("Environment=\"CARETAKER_DATA_DIR=/srv/care taker\"\n"), "{u}");
        assert!(p.contains("<key>CARETAKER_KEYCHAIN</key>\n\t\t<string>off</string>"), "{p}");
        assert!(u.contains("Environment=\"CARETAKER_KEYCHAIN=off\"\n"), "{u}");
        assert!(u.contains("User=\"ann\"\n") && u.contains("WantedBy=multi-user.target\n"), "{u}");
    }

    #[test]
    fn a_relative_or_multi_line_path_is_refused() {
        assert!(plist(&spec(Path::new("caretaker"), None, None)).unwrap_err().to_string().contains("not absolute"));
        assert!(unit(&spec(Path::new("/bin/care\ntaker"), None, None)).is_err());
    }
}
