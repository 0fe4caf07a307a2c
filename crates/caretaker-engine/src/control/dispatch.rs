//! The contract expanded into one dispatcher: a command's name and its arguments as JSON in, its
//! answer as JSON out. The control socket serves it; an app with an engine of its own calls it in
//! process, so both paths run the same code.

use super::wire::extra;
use crate::error::{EngineError, Result};
use crate::handle::EngineHandle;
use serde::de::DeserializeOwned;

include!("contract.rs");

/// Arguments by name; none given is the same as `{}`. Unknown names are refused, so a typo in a
/// client is an error rather than a silently ignored option.
fn args_of<T: DeserializeOwned>(cmd: &str, args: serde_json::Value) -> Result<T> {
    let args = if args.is_null() { serde_json::Value::Object(Default::default()) } else { args };
    serde_path_to_error::deserialize(args).map_err(|e| {
        let at = e.path().to_string();
        let at = if at == "." { String::new() } else { format!(" ({at})") };
        EngineError::InvalidInput(format!("{cmd}: bad arguments{at}: {}", e.into_inner()))
    })
}

fn to_json<T: serde::Serialize>(value: T) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| EngineError::Internal(format!("could not encode an answer: {e}")))
}

macro_rules! engine_dispatch {
    (
        { $($import:item)* }
        $(
            $(#[doc = $doc:literal])*
            $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) -> $res:ty = |$e:ident| $body:expr;
        )*
    ) => {
        $($import)*

        /// Every command of the contract, in the table's order.
        pub const COMMANDS: &[&str] = &[$(stringify!($name)),*];

        /// Runs `cmd` with `args`: a contract command, or one of the socket's extras that need
        /// no connection state.
        pub async fn dispatch(engine: &EngineHandle, cmd: &str, args: serde_json::Value) -> Result<serde_json::Value> {
            match cmd {
                $(
                    stringify!($name) => {
                        #[derive(serde::Deserialize)]
                        #[serde(deny_unknown_fields)]
                        struct Args { $($arg: $ty),* }
                        #[allow(unused_variables)]
                        let Args { $($arg),* } = args_of(cmd, args)?;
                        let $e = engine.clone();
                        let result: Result<$res> = $body;
                        to_json(result?)
                    }
                )*
                _ => extra_command(engine, cmd, args).await,
            }
        }
    };
}

with_commands!(engine_dispatch);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RunCheck {
    name: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct History {
    plan: Option<String>,
    #[serde(default = "default_limit")]
    limit: u32,
}

fn default_limit() -> u32 {
    20
}

async fn extra_command(engine: &EngineHandle, cmd: &str, args: serde_json::Value) -> Result<serde_json::Value> {
    match cmd {
        extra::RUN_CHECK => {
            let RunCheck { name } = args_of(cmd, args)?;
            to_json(engine.run_check(&name).await?)
        }
        extra::BACKUP_JOB => to_json(engine.backup_job()),
        extra::BACKUP_HISTORY => {
            let History { plan, limit } = args_of(cmd, args)?;
            to_json(engine.backup_history(plan, limit).await?)
        }
        other => Err(EngineError::InvalidInput(format!("unknown command {other:?}"))),
    }
}
