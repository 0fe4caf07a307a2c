//! Asks the person, in a native dialog, before a change from the window that could run a
//! program, write into a folder in use or send the log elsewhere (the engine's `consent` decides
//! which). The page cannot answer for the person: the dialog is drawn by the OS, not the web view.

use caretaker_engine::consent::{self, Question};
use caretaker_engine::{CheckConfig, EngineError, EngineHandle, Result};
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// Something that can put a question to the person.
pub trait Confirmer: Send + Sync {
    /// Calls `answer` once with the person's choice, from any thread.
    fn ask(&self, question: &Question, answer: Box<dyn FnOnce(bool) + Send>);
}

/// The native dialog.
pub struct Dialog(pub tauri::AppHandle);

impl Confirmer for Dialog {
    fn ask(&self, q: &Question, answer: Box<dyn FnOnce(bool) + Send>) {
        use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};
        self.0
            .dialog()
            .message(&q.message)
            .title(&q.title)
            .kind(MessageDialogKind::Warning)
            .buttons(MessageDialogButtons::OkCancelCustom("Allow".into(), "Cancel".into()))
            .show(answer);
    }
}

/// A fixed answer, for the end-to-end tests only (no person to click under Xvfb).
struct Fixed(bool);

impl Confirmer for Fixed {
    fn ask(&self, _: &Question, answer: Box<dyn FnOnce(bool) + Send>) {
        answer(self.0)
    }
}

/// TEST-ONLY: `CARETAKER_TEST_CONFIRM=yes` (or `no`) answers every question without a dialog.
/// Honoured only in debug builds, which is what the WebDriver suite drives; a release build
/// always asks.
pub const TEST_SWITCH: &str = "CARETAKER_TEST_CONFIRM";

static CONFIRMER: OnceLock<Arc<dyn Confirmer>> = OnceLock::new();

/// Installs the dialog (or, in a debug build with the test switch set, the fixed answer).
pub fn install(app: &tauri::AppHandle) {
    let fixed = std::env::var(TEST_SWITCH).ok().filter(|_| cfg!(debug_assertions));
    let c: Arc<dyn Confirmer> = match fixed.as_deref() {
        Some("yes") => Arc::new(Fixed(true)),
        Some("no") => Arc::new(Fixed(false)),
        _ => Arc::new(Dialog(app.clone())),
    };
    let _ = CONFIRMER.set(c);
}

/// Ok when nothing needs asking or the person allowed it; an error naming what was declined
/// otherwise. Without a way to ask, the answer is no.
pub async fn confirm(c: Option<&dyn Confirmer>, question: Option<Question>) -> Result<()> {
    let Some(q) = question else { return Ok(()) };
    let Some(c) = c else { return Err(declined(&q)) };
    let (tx, rx) = tokio::sync::oneshot::channel();
    c.ask(
        &q,
        Box::new(move |yes| {
            let _ = tx.send(yes);
        }),
    );
    if rx.await.unwrap_or(false) {
        Ok(())
    } else {
        Err(declined(&q))
    }
}

fn declined(q: &Question) -> EngineError {
    EngineError::InvalidInput(format!("not changed: \"{}\" was not allowed", q.title))
}

fn installed() -> Option<&'static dyn Confirmer> {
    CONFIRMER.get().map(|c| c.as_ref())
}

/// Before `save_check`: a new or changed command probe.
pub async fn save_check(e: &EngineHandle, original: Option<&str>, check: &CheckConfig) -> Result<()> {
    save_check_with(installed(), e, original, check).await
}

async fn save_check_with(c: Option<&dyn Confirmer>, e: &EngineHandle, original: Option<&str>, check: &CheckConfig) -> Result<()> {
    let snapshot = e.snapshot();
    let current = original.and_then(|name| snapshot.checks.iter().find(|c| c.config.name == name)).map(|c| &c.config);
    confirm(c, consent::check_change(current, check)).await
}

/// Before `restore_backup`: a destination that already holds something.
pub async fn restore(destination: &str) -> Result<()> {
    confirm(installed(), consent::restore_into(destination, consent::entries_in(Path::new(destination)))).await
}

/// Before `set_analysis`: a model server on another machine.
pub async fn analysis_endpoint(e: &EngineHandle, endpoint: &str) -> Result<()> {
    confirm(installed(), consent::analysis_endpoint(&e.config().analysis.endpoint, endpoint)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q() -> Option<Question> {
        Some(Question { title: "Run a command?".into(), message: "…".into() })
    }

    /// Answers from another thread, as the dialog does.
    struct Later(bool);
    impl Confirmer for Later {
        fn ask(&self, _: &Question, answer: Box<dyn FnOnce(bool) + Send>) {
            let yes = self.0;
            std::thread::spawn(move || answer(yes));
        }
    }

    #[tokio::test]
    async fn the_persons_answer_decides_and_no_way_to_ask_means_no() {
        assert!(confirm(Some(&Later(true)), q()).await.is_ok());
        let no = confirm(Some(&Later(false)), q()).await.unwrap_err();
        assert_eq!(no.to_string(), "not changed: \"Run a command?\" was not allowed");
        assert!(confirm(None, q()).await.is_err(), "fails closed");
        assert!(confirm(None, None).await.is_ok(), "nothing to ask");
        /// A confirmer that drops the answer without calling it.
        struct Mute;
        impl Confirmer for Mute {
            fn ask(&self, _: &Question, _: Box<dyn FnOnce(bool) + Send>) {}
        }
        assert!(confirm(Some(&Mute), q()).await.is_err(), "a dialog that never answers is a no");
    }

    /// Fails the test if anything is asked.
    struct Never;
    impl Confirmer for Never {
        fn ask(&self, q: &Question, _: Box<dyn FnOnce(bool) + Send>) {
            panic!("asked {:?} though nothing needed asking", q.title);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_command_check_is_saved_only_after_a_yes_and_unchanged_ones_are_not_asked_again() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("caretaker.toml"), "[notifications]\nenabled = false\n").unwrap();
        let engine = caretaker_engine::Engine::start(caretaker_engine::EngineOptions::new(dir.path())).await.unwrap();
        let mut check = command_check(&["/bin/true", "--flag"]);
        let no = save_check_with(Some(&Later(false)), &engine, None, &check).await;
        assert!(no.is_err(), "a declined command probe is not saved");
        save_check_with(Some(&Later(true)), &engine, None, &check).await.unwrap();
        engine.save_check(None, check.clone()).await.unwrap();
        // The same argv under a new interval: already allowed, nothing to ask.
        check.interval_secs = 120;
        save_check_with(Some(&Never), &engine, Some("Job"), &check).await.unwrap();
        // A changed argv is asked again, under the check's old name too.
        check.command.as_mut().unwrap().argv.push("--more".into());
        assert!(save_check_with(Some(&Later(false)), &engine, Some("Job"), &check).await.is_err());
        engine.shutdown().await;
    }

    fn command_check(argv: &[&str]) -> CheckConfig {
        CheckConfig {
            name: "Job".into(),
            interval_secs: 60,
            timeout_secs: 5,
            degraded_latency_ms: None,
            enabled: true,
            http: None,
            tcp: None,
            process: None,
            command: Some(caretaker_engine::config::CommandProbe {
                argv: argv.iter().map(|a| a.to_string()).collect(),
                expect_exit: 0,
                working_dir: None,
                warning_above: None,
                critical_above: None,
            }),
            json_value: None,
        }
    }

    /// The commands that can run a program, write into a folder or send the log away go through
    /// a confirmation before they reach the engine.
    #[test]
    fn risky_commands_are_confirmed_in_the_contract() {
        let contract = include_str!("contract.rs");
        for (command, guard, call) in [
            ("save_check(", "crate::consent::save_check(", "e.save_check("),
            ("restore_backup(", "crate::consent::restore(", "e.restore_backup("),
            ("set_analysis(", "crate::consent::analysis_endpoint(", "e.set_analysis("),
        ] {
            let at = contract.find(&format!("            {command}")).unwrap_or_else(|| panic!("{command} is not in the contract"));
            let body = &contract[at..];
            let end = body.find(".await;").expect("a command ends with .await;");
            let first = body.find(guard).unwrap_or(usize::MAX);
            assert!(first < end, "{command} must ask through {guard} before calling the engine");
            assert!(first < body.find(call).unwrap_or(0), "{command} asks before it calls the engine");
        }
    }
}
