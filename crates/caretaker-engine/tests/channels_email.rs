//! Email channels against a real SMTP server on loopback (Debian `python3-aiosmtpd`; CI
//! installs it through scripts/setup-debian.sh): plain, and STARTTLS with AUTH where a wrong
//! password is said on the channel and nothing is lost.
#![cfg(target_os = "linux")]

mod channels_support;
mod common;

use channels_support::{start, write_config};
use common::{free_port, until};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The server, stopped when dropped.
struct Smtp(Child);

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn smtp(port: u16, out: &Path, tls: Option<(&Path, &Path)>) -> Smtp {
    std::fs::create_dir_all(out).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/channels_support/smtp_server.py");
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg(script).arg(port.to_string()).arg(out);
    match tls {
        None => cmd.arg("plain"),
        Some((cert, key)) => cmd.arg("starttls").arg(cert).arg(key),
    };
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("python3 with aiosmtpd (apt install python3-aiosmtpd)");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "the SMTP server did not start (is python3-aiosmtpd installed?)");
    Smtp(child)
}

fn mails(out: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(out)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    names.sort();
    names.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_relay_gets_a_link_free_text_mail_with_title_severity_and_host() {
    let dir = tempfile::tempdir().unwrap();
    let (port, out) = (free_port(), dir.path().join("mail"));
    let _server = smtp(port, &out, None);
    let channel = format!(
        "[[notifications.channels]]\nname = \"mail\"\nkind = \"email\"\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"plain\"\nfrom = \"caretaker@mini.local\"\nto = [\"owner@example.com\"]\n"
    );
    write_config(dir.path(), free_port(), &channel);
    let engine = start(dir.path()).await;
    let alert = until("the alert opens", 20, async || engine.open_alerts().into_iter().find(|a| a.subject == "Closed")).await;
    let mail = until("the mail arrives", 20, async || mails(&out).pop()).await;
    assert!(mail.contains(&format!("Subject: {}", alert.title)), "{mail}");
    assert!(mail.contains("Content-Type: text/plain"), "{mail}");
    assert!(mail.contains(&format!("Severity: {}", alert.severity.as_str())), "{mail}");
    assert!(mail.contains("Host: "), "{mail}");
    assert!(mail.contains("Status: active") && mail.contains("Started: "), "{mail}");
    assert!(!mail.contains("<a ") && !mail.contains("text/html"), "{mail}");
    engine.shutdown().await;
}

/// A private CA (the `ca_file` a person gives for a relay with its own certificates) and a
/// server certificate for 127.0.0.1 it signed. Returns (CA, certificate, key).
fn private_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (ca, ca_key) = (dir.join("ca.pem"), dir.join("ca.key"));
    let (cert, key, csr, ext) = (dir.join("cert.pem"), dir.join("key.pem"), dir.join("leaf.csr"), dir.join("ext.cnf"));
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n").unwrap();
    let openssl = |args: Vec<&std::ffi::OsStr>| {
        let made = Command::new("openssl").args(args).stderr(Stdio::null()).stdout(Stdio::null()).status().unwrap();
        assert!(made.success());
    };
    let os = |s: &'static str| std::ffi::OsStr::new(s);
    openssl(
        vec![os("req"), os("-x509"), os("-newkey"), os("rsa:2048"), os("-nodes"), os("-days"), os("1")]
            .into_iter()
            .chain([os("-subj"), os("/CN=Caretaker test CA"), os("-keyout"), ca_key.as_os_str(), os("-out"), ca.as_os_str()])
            .collect(),
    );
    openssl(
        vec![os("req"), os("-new"), os("-newkey"), os("rsa:2048"), os("-nodes"), os("-subj"), os("/CN=127.0.0.1")]
            .into_iter()
            .chain([os("-keyout"), key.as_os_str(), os("-out"), csr.as_os_str()])
            .collect(),
    );
    openssl(
        vec![os("x509"), os("-req"), os("-in"), csr.as_os_str(), os("-CA"), ca.as_os_str(), os("-CAkey"), ca_key.as_os_str()]
            .into_iter()
            .chain([os("-CAcreateserial"), os("-days"), os("1"), os("-extfile"), ext.as_os_str(), os("-out"), cert.as_os_str()])
            .collect(),
    );
    (ca, cert, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_with_a_wrong_password_says_so_and_keeps_the_mail_until_the_right_one() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = private_ca(dir.path());
    let (port, out) = (free_port(), dir.path().join("mail"));
    let _server = smtp(port, &out, Some((&cert, &key)));
    let channel = format!(
        "[[notifications.channels]]\nname = \"mail\"\nkind = \"email\"\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"starttls\"\nusername = \"caretaker\"\nfrom = \"caretaker@mini.local\"\nto = [\"owner@example.com\"]\nca_file = \"{}\"\n",
        ca.display()
    );
    write_config(dir.path(), free_port(), &channel);
    std::env::set_var(caretaker_engine::secrets::KEYCHAIN_ENV, "off");
    caretaker_engine::channels::secret::store(dir.path(), "mail", "password", "wrong-pass").unwrap();
    let engine = start(dir.path()).await;
    let status = until("the server refuses the login", 20, async || {
        let s = engine.channels_status().await.ok()?.pop()?;
        s.last_error.is_some().then_some(s)
    })
    .await;
    let error = status.last_error.unwrap_or_default();
    assert!(error.contains("535") || error.to_lowercase().contains("authentication"), "{error}");
    assert!(!error.contains("wrong-pass"), "{error}");
    assert_eq!(status.pending, 1, "nothing lost");
    assert!(mails(&out).is_empty());

    channels_support::set_secret(&engine, "mail", "password", "right-pass").await.unwrap();
    let mail = until("the mail arrives with the right password", 30, async || mails(&out).pop()).await;
    assert!(mail.contains("Severity: "), "{mail}");
    until("nothing waits", 10, async || (engine.channels_status().await.ok()?.last()?.pending == 0).then_some(())).await;
    engine.shutdown().await;
}
