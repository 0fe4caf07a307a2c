//! Asks the person, in a native dialog, before a change from the window that could run a
//! program, write into a folder in use or send the log elsewhere (the engine's `consent` decides
//! which). The page cannot answer for the person: the dialog is drawn by the OS, not the web view.

use crate::backend::Backend;
use caretaker_engine::config::{ActionConfig, AnalysisConfig};
use caretaker_engine::consent::{self, Question};
use caretaker_engine::{CheckConfig, EngineError, ErrorPayload, HealingOverview, Result, Snapshot};
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

/// Asks, where the command `cmd` with `args` needs the person's yes, before it reaches the
/// engine: a new or changed command probe (`save_check`), a healing action that runs, stops or
/// deletes something new (`save_healing_action`), a destination that already holds
/// something (`restore_backup`), a model server on another machine (`set_analysis`).
pub async fn guard(backend: &Backend, cmd: &str, args: &serde_json::Value) -> std::result::Result<(), ErrorPayload> {
    guard_with(installed(), backend, cmd, args).await.map_err(|e| match e {
        Refused::Engine(p) => p,
        Refused::Here(e) => e.payload(),
    })
}

/// Why a guarded command did not go ahead: the engine could not be asked (its own error, code
/// kept for the window to branch on), or something here (a no, a bad argument).
#[derive(Debug)]
enum Refused {
    Engine(ErrorPayload),
    Here(EngineError),
}

impl From<EngineError> for Refused {
    fn from(e: EngineError) -> Self {
        Refused::Here(e)
    }
}

/// Asks the person to confirm stopping Caretaker (the tray's "Stop Caretaker").
pub async fn confirm_stop() -> bool {
    let q = Question {
        title: "Stop Caretaker?".into(),
        message: "Nothing on this machine will be watched or backed up until Caretaker is started again \
                  (by opening the app, or at the next login)."
            .into(),
    };
    confirm(installed(), Some(q)).await.is_ok()
}

fn arg<T: serde::de::DeserializeOwned>(args: &serde_json::Value, name: &str) -> Result<T> {
    serde_json::from_value(args.get(name).cloned().unwrap_or(serde_json::Value::Null))
        .map_err(|e| EngineError::InvalidInput(format!("bad argument {name}: {e}")))
}

async fn guard_with(c: Option<&dyn Confirmer>, backend: &Backend, cmd: &str, args: &serde_json::Value) -> std::result::Result<(), Refused> {
    let question = match cmd {
        "save_check" => {
            let original: Option<String> = arg(args, "original")?;
            let check: CheckConfig = arg(args, "check")?;
            let snapshot: Snapshot = backend.call_as("snapshot", serde_json::Value::Null).await.map_err(Refused::Engine)?;
            let current = original.and_then(|name| snapshot.checks.into_iter().find(|c| c.config.name == name)).map(|c| c.config);
            consent::check_change(current.as_ref(), &check)
        }
        "save_healing_action" => {
            let original: Option<String> = arg(args, "original")?;
            let action: ActionConfig = arg(args, "action")?;
            let overview: HealingOverview = backend.call_as("healing_overview", serde_json::Value::Null).await.map_err(Refused::Engine)?;
            let current = original.and_then(|id| overview.actions.into_iter().find(|a| a.config.id == id)).map(|a| a.config);
            consent::healing_change(current.as_ref(), &action)
        }
        "restore_backup" => {
            let destination: String = arg(args, "destination")?;
            consent::restore_into(&destination, consent::entries_in(Path::new(&destination)))
        }
        "set_analysis" => {
            let endpoint: String = arg(args, "endpoint")?;
            let current: AnalysisConfig = backend.call_as("analysis_config", serde_json::Value::Null).await.map_err(Refused::Engine)?;
            consent::analysis_endpoint(&current.endpoint, &endpoint)
        }
        _ => None,
    };
    Ok(confirm(c, question).await?)
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
        let backend = Backend::Local(engine.clone());
        let save = |original: Option<&str>, check: &CheckConfig| serde_json::json!({ "original": original, "check": check });
        let mut check = command_check(&["/bin/true", "--flag"]);
        let no = guard_with(Some(&Later(false)), &backend, "save_check", &save(None, &check)).await;
        assert!(no.is_err(), "a declined command probe is not saved");
        guard_with(Some(&Later(true)), &backend, "save_check", &save(None, &check)).await.unwrap();
        engine.save_check(None, check.clone()).await.unwrap();
        // The same argv under a new interval: already allowed, nothing to ask.
        check.interval_secs = 120;
        guard_with(Some(&Never), &backend, "save_check", &save(Some("Job"), &check)).await.unwrap();
        // A changed argv is asked again, under the check's old name too.
        check.command.as_mut().unwrap().argv.push("--more".into());
        assert!(guard_with(Some(&Later(false)), &backend, "save_check", &save(Some("Job"), &check)).await.is_err());

        // A restore into a folder with something in it, and a model server elsewhere, are asked.
        let busy = tempfile::tempdir().unwrap();
        std::fs::write(busy.path().join("file"), "x").unwrap();
        let restore = serde_json::json!({ "destination": busy.path().display().to_string() });
        assert!(guard_with(Some(&Later(false)), &backend, "restore_backup", &restore).await.is_err());
        guard_with(Some(&Later(true)), &backend, "restore_backup", &restore).await.unwrap();
        let remote = serde_json::json!({ "endpoint": "http://192.0.2.7:11434" });
        assert!(guard_with(Some(&Later(false)), &backend, "set_analysis", &remote).await.is_err());
        // Everything else passes without a question.
        guard_with(Some(&Never), &backend, "list_alerts", &serde_json::json!({})).await.unwrap();
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
            max_severity: None,
        }
    }
}
