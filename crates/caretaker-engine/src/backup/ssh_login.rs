//! Letting Caretaker's own SSH key into an SFTP account with the account's password, once (what
//! `ssh-copy-id -s` does): for people whose server takes a password and who have never edited an
//! `authorized_keys` file. The password is used for two SFTP sessions and then forgotten: it is
//! never stored, and every later backup logs in with the key.
//!
//! The system's `sftp` (argv, never a shell) does the work over the SFTP protocol alone, so it also
//! works on servers that allow SFTP and nothing else. ssh asks for the password through the
//! `SSH_ASKPASS` program, which is Caretaker's own binary started again: [`answer_askpass`] (called
//! first thing by both binaries' `main`) prints the password it finds in its environment, where
//! only this call put it (visible to this user's own processes for those seconds, as an ssh
//! password prompt's memory would be).

use super::remote::SftpServer;
use std::path::Path;
use std::process::Stdio;
use tokio::io::AsyncWriteExt;

/// The environment variable that carries the password to the askpass program.
pub const ASKPASS_SECRET: &str = "CARETAKER_SSH_ASKPASS_SECRET";

/// When ssh started this process to ask for a password: prints the password and returns true.
/// Any other question (a passphrase, a host key confirmation) gets no answer, so ssh stops.
pub fn answer_askpass() -> bool {
    let Some(secret) = std::env::var_os(ASKPASS_SECRET) else { return false };
    if std::env::var_os("SSH_ASKPASS_REQUIRE").is_none() {
        return false; // not started by ssh: an ordinary run with a stray variable
    }
    let prompt = std::env::args().nth(1).unwrap_or_default().to_lowercase();
    if prompt.contains("password") {
        use std::io::Write;
        let mut out = std::io::stdout();
        let _ = out.write_all(secret.as_encoded_bytes());
        let _ = out.write_all(b"\n");
    }
    true
}

/// `existing` (an `authorized_keys` file's text) with `line` added, or None when the key is in it.
pub fn with_key(existing: &str, line: &str) -> Option<String> {
    let blob = line.split_whitespace().nth(1).unwrap_or(line);
    if existing.lines().any(|l| l.split_whitespace().any(|w| w == blob)) {
        return None;
    }
    let mut out = existing.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(line.trim());
    out.push('\n');
    Some(out)
}

/// Adds `public_line` to `~/.ssh/authorized_keys` of the account `server` names, logging in with
/// `password`. `askpass` is this program's binary (see [`answer_askpass`]); `work` a private
/// folder for the file's two copies (removed after).
pub async fn let_key_in(server: &SftpServer, password: &str, public_line: &str, askpass: &Path, work: &Path) -> Result<(), String> {
    let existing = work.join("authorized_keys.from-server");
    let new = work.join("authorized_keys.to-server");
    let result = exchange(server, password, public_line, askpass, &existing, &new).await;
    let _ = std::fs::remove_file(&existing);
    let _ = std::fs::remove_file(&new);
    result
}

async fn exchange(server: &SftpServer, password: &str, line: &str, askpass: &Path, existing: &Path, new: &Path) -> Result<(), String> {
    let _ = std::fs::remove_file(existing); // a copy from an earlier try is not this server's file
    let existing_arg = quoted(existing);
    // A fresh account has neither: their errors do not matter, a failed login does.
    sftp(server, password, askpass, &format!("-mkdir .ssh\n-get .ssh/authorized_keys {existing_arg}\n")).await?;
    let before = match std::fs::read_to_string(existing) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("cannot read the server's authorized_keys: {e}")),
    };
    let Some(after) = with_key(&before, line) else { return Ok(()) };
    std::fs::write(new, after).map_err(|e| format!("cannot write {}: {e}", new.display()))?;
    let put = format!("put {} .ssh/authorized_keys\nchmod 600 .ssh/authorized_keys\nchmod 700 .ssh\n", quoted(new));
    let said = sftp(server, password, askpass, &put).await?;
    match failure(&said) {
        Some(line) => Err(format!("{}: cannot write ~/.ssh/authorized_keys: {line}", server.login())),
        None => Ok(()),
    }
}

/// A local path as one sftp command argument: in double quotes, with `\\` and `"` escaped (a data
/// folder such as "Application Support" has spaces; a quote in it must not end the argument).
fn quoted(path: &Path) -> String {
    format!("\"{}\"", path.display().to_string().replace('\\', "\\\\").replace('"', "\\\""))
}

/// One `sftp` session with a password login, running `commands`; what sftp said about them. An
/// error when the login failed.
async fn sftp(server: &SftpServer, password: &str, askpass: &Path, commands: &str) -> Result<String, String> {
    let who = server.login();
    let mut child = tokio::process::Command::new("sftp")
        .args(["-P", &server.port().to_string()])
        .args(["-o", "StrictHostKeyChecking=accept-new", "-o", "PubkeyAuthentication=no"])
        .args(["-o", "PreferredAuthentications=keyboard-interactive,password", "-o", "NumberOfPasswordPrompts=1"])
        .args(["-o", "ConnectTimeout=20"])
        .arg(&who)
        .env("SSH_ASKPASS", askpass)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env(ASKPASS_SECRET, password)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run sftp (OpenSSH's client): {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // Commands, then end of input: sftp leaves when it has read them.
        let _ = stdin.write_all(format!("{commands}bye\n").as_bytes()).await;
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait_with_output())
        .await
        .map_err(|_| format!("{who}: the server did not finish within a minute"))?
        .map_err(|e| format!("sftp failed: {e}"))?;
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    if err.contains("Permission denied") || err.contains("Too many authentication failures") {
        return Err(format!("{who} did not accept the password (or does not allow password logins)"));
    }
    if err.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") || err.contains("Host key verification failed") {
        return Err(format!(
            "{who}: the server's SSH key is not the one remembered; if the server was reinstalled, remove its line from ~/.ssh/known_hosts"
        ));
    }
    if err.contains("Connection closed") || err.contains("Connection refused") || err.contains("Could not resolve") {
        let line = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("no answer");
        return Err(format!("{who}: {}", line.trim()));
    }
    Ok(err)
}

/// The first line in sftp's messages that says a command failed.
fn failure(messages: &str) -> Option<&str> {
    messages
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("Couldn't") || l.contains("failed") || l.contains("not found") || l.contains("denied"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_path_stays_one_sftp_argument() {
        assert_eq!(quoted(Path::new("/Users/me/Library/Application Support/x")), r#""/Users/me/Library/Application Support/x""#);
        assert_eq!(quoted(Path::new(r#"/odd "name"\dir"#)), r#""/odd \"name\"\\dir""#);
    }

    #[test]
    fn the_key_is_added_once_after_what_is_there() {
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB caretaker@mini";
        assert_eq!(with_key("", key).as_deref(), Some(format!("{key}\n").as_str()));
        let theirs = "ssh-rsa AAAAB3Nza their@laptop";
        assert_eq!(with_key(theirs, key), Some(format!("{theirs}\n{key}\n")), "a missing newline is added first");
        let both = format!("{theirs}\n{key}\n");
        assert_eq!(with_key(&both, key), None, "already there");
        // Options before the key, or another comment, still count as the same key.
        assert_eq!(with_key("restrict ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB renamed\n", key), None);
    }
}
