//! The probes. Every probe is bounded by the check's timeout, and every failure becomes a
//! `down` result with a message a person can act on; nothing a service answers can stall another check.

use super::{CheckResult, CheckStatus};
use crate::config::{CheckConfig, CommandProbe, HttpProbe, JsonValueProbe, ProcessProbe, TcpProbe};
use crate::process::{self, Ended, Leftovers, Spec};
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Bodies larger than this are cut: a check reads a status, not a download.
const MAX_BODY: usize = 1 << 20;

/// Shared by every check's task. The HTTP client is built on the first HTTP probe: building one
/// loads the system's root certificates, which a machine with no HTTP checks never needs.
#[derive(Clone, Default)]
pub struct Prober {
    http: Arc<OnceLock<reqwest::Client>>,
}

struct Outcome {
    status: CheckStatus,
    error: Option<String>,
    details: Value,
}

fn up(details: Value) -> Outcome {
    Outcome { status: CheckStatus::Healthy, error: None, details }
}
fn down(error: impl Into<String>, details: Value) -> Outcome {
    Outcome { status: CheckStatus::Down, error: Some(error.into()), details }
}

impl Prober {
    pub fn new() -> crate::Result<Prober> {
        Ok(Prober::default())
    }

    fn http(&self) -> Result<&reqwest::Client, String> {
        if let Some(c) = self.http.get() {
            return Ok(c);
        }
        let built = crate::net::http_client()
            // Checks look at this machine's services; a system proxy must not get in the way.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::limited(5))
            .user_agent(concat!("Caretaker/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        // Two first probes at once may both build one; the second is dropped.
        Ok(self.http.get_or_init(|| built))
    }

    pub async fn run(&self, check: &CheckConfig, now_ms: i64) -> CheckResult {
        let timeout = Duration::from_secs(check.timeout_secs);
        let started = Instant::now();
        let outcome = match tokio::time::timeout(timeout, self.probe(check, now_ms)).await {
            Ok(o) => o,
            Err(_) => down(format!("no answer within {} s", check.timeout_secs), json!({ "timeout_secs": check.timeout_secs })),
        };
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut status = outcome.status;
        let mut error = outcome.error;
        if status == CheckStatus::Healthy {
            if let Some(limit) = check.degraded_latency_ms {
                if latency_ms > limit as f64 {
                    status = CheckStatus::Degraded;
                    error = Some(format!("slow: {latency_ms:.0} ms (degraded above {limit} ms)"));
                }
            }
        }
        CheckResult {
            service_name: check.name.clone(),
            status,
            latency_ms: Some((latency_ms * 10.0).round() / 10.0),
            checked_at: now_ms,
            error_message: error,
            probe_details: outcome.details,
        }
    }

    async fn probe(&self, check: &CheckConfig, now_ms: i64) -> Outcome {
        if let Some(h) = &check.http {
            self.http_probe(h).await
        } else if let Some(t) = &check.tcp {
            tcp_probe(t).await
        } else if let Some(p) = &check.process {
            process_probe(p).await
        } else if let Some(c) = &check.command {
            command_probe(c, Duration::from_secs(check.timeout_secs)).await
        } else if let Some(j) = &check.json_value {
            self.json_value_probe(j, now_ms).await
        } else {
            down("this check has no probe configured", Value::Null)
        }
    }

    async fn fetch(&self, method: &str, url: &str) -> Result<(u16, Vec<u8>, bool), String> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|_| format!("unknown HTTP method {method}"))?;
        // The caller bounds the whole probe with the check's timeout, so its message is the one a person sees.
        let mut resp = self.http()?.request(method, url).send().await.map_err(describe_http_error)?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = resp.chunk().await.map_err(describe_http_error)? {
            let room = MAX_BODY - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body, truncated))
    }

    async fn http_probe(&self, h: &HttpProbe) -> Outcome {
        let (status, body, truncated) = match self.fetch(&h.method, &h.url).await {
            Ok(v) => v,
            Err(e) => return down(e, json!({ "url": h.url })),
        };
        let mut details = json!({ "url": h.url, "status_code": status, "body_bytes": body.len(), "truncated": truncated });
        let [lo, hi] = h.expect_status;
        if status < lo || status > hi {
            return down(format!("HTTP {status} (expected {lo}-{hi})"), details);
        }
        if let Some(needle) = &h.body_contains {
            if !String::from_utf8_lossy(&body).contains(needle.as_str()) {
                return down(format!("the response does not contain {needle:?}"), details);
            }
        }
        if let Some(pointer) = &h.json_pointer {
            let value = match serde_json::from_slice::<Value>(&body) {
                Ok(v) => v,
                Err(e) => return down(format!("the response is not JSON: {e}"), details),
            };
            let Some(found) = value.pointer(pointer) else {
                return down(format!("the JSON has nothing at {pointer}"), details);
            };
            details["value"] = found.clone();
            if let Some(want) = &h.json_equals {
                let got = match found {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if &got != want {
                    return down(format!("{pointer} is {got:?}, expected {want:?}"), details);
                }
            }
        }
        up(details)
    }

    async fn json_value_probe(&self, j: &JsonValueProbe, now_ms: i64) -> Outcome {
        let (status, body, _) = match self.fetch("GET", &j.url).await {
            Ok(v) => v,
            Err(e) => return down(e, json!({ "url": j.url })),
        };
        let mut details = json!({ "url": j.url, "status_code": status, "pointer": j.pointer });
        if !(200..300).contains(&status) {
            return down(format!("HTTP {status}"), details);
        }
        let value = match serde_json::from_slice::<Value>(&body) {
            Ok(v) => v,
            Err(e) => return down(format!("the response is not JSON: {e}"), details),
        };
        // Read even when the number is not: a `stuck` detector watches it on its own.
        if let Some(p) = &j.oldest_pointer {
            match super::oldest::age_secs(value.pointer(p), now_ms) {
                Ok(age) => details["oldest_age_secs"] = json!(age),
                Err(e) => details["oldest_error"] = json!(format!("{p}: {e}")),
            }
        }
        let number = match value.pointer(&j.pointer) {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        let Some(v) = number else {
            return down(format!("no number at {} in the response", j.pointer), details);
        };
        details["value"] = json!(v);
        judge_value(v, j.critical_above, j.warning_above, j.critical_below, j.warning_below, details)
    }
}

/// Compares a number against thresholds: critical -> down, warning -> degraded.
fn judge_value(
    v: f64,
    crit_above: Option<f64>,
    warn_above: Option<f64>,
    crit_below: Option<f64>,
    warn_below: Option<f64>,
    details: Value,
) -> Outcome {
    if let Some(t) = crit_above.filter(|t| v > *t) {
        return down(format!("value {v} is above the critical threshold {t}"), details);
    }
    if let Some(t) = crit_below.filter(|t| v < *t) {
        return down(format!("value {v} is below the critical threshold {t}"), details);
    }
    if let Some(t) = warn_above.filter(|t| v > *t) {
        return Outcome { status: CheckStatus::Degraded, error: Some(format!("value {v} is above the warning threshold {t}")), details };
    }
    if let Some(t) = warn_below.filter(|t| v < *t) {
        return Outcome { status: CheckStatus::Degraded, error: Some(format!("value {v} is below the warning threshold {t}")), details };
    }
    up(details)
}

fn describe_http_error(e: reqwest::Error) -> String {
    use std::error::Error;
    let mut msg = if e.is_connect() {
        "connection refused or unreachable".to_string()
    } else if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_body() || e.is_decode() {
        "the response broke off".to_string()
    } else {
        "request failed".to_string()
    };
    // The innermost cause says what really happened (refused, reset, bad certificate...).
    let mut source = e.source();
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    if let Some(l) = last {
        msg.push_str(": ");
        msg.push_str(&l);
    }
    msg
}

async fn tcp_probe(t: &TcpProbe) -> Outcome {
    let addr = format!("{}:{}", t.host, t.port);
    match tokio::net::TcpStream::connect(&addr).await {
        Ok(_) => up(json!({ "address": addr })),
        Err(e) => down(format!("cannot connect to {addr}: {e}"), json!({ "address": addr })),
    }
}

async fn process_probe(p: &ProcessProbe) -> Outcome {
    let p = p.clone();
    let found = tokio::task::spawn_blocking(move || {
        use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};
        let mut sys = System::new().map_err(|e| format!("cannot list processes: {e}"))?;
        sys.refresh_processes_specifics(ProcessesToUpdate::All, true, ProcessRefreshKind::nothing().with_cmd(UpdateKind::OnlyIfNotSet));
        let pids: Vec<u32> = sys
            .processes()
            .values()
            .filter(|proc_| proc_.thread_kind().is_none())
            .filter(|proc_| p.name.as_ref().is_none_or(|n| proc_.name().to_string_lossy() == n.as_str()))
            .filter(|proc_| {
                p.command_line_contains.as_ref().is_none_or(|needle| {
                    let cmd: Vec<String> = proc_.cmd().iter().map(|a| a.to_string_lossy().into_owned()).collect();
                    cmd.join(" ").contains(needle.as_str())
                })
            })
            .map(|proc_| proc_.pid().as_u32())
            .collect();
        Ok::<_, String>(pids)
    })
    .await;
    match found {
        Ok(Ok(pids)) if !pids.is_empty() => up(json!({ "pids": pids })),
        Ok(Ok(_)) => down("no matching process is running", json!({ "pids": [] })),
        Ok(Err(e)) => down(e, Value::Null),
        Err(e) => down(format!("process probe failed: {e}"), Value::Null),
    }
}

async fn command_probe(c: &CommandProbe, timeout: Duration) -> Outcome {
    let Some(program) = c.argv.first().cloned() else {
        return down("no program configured", Value::Null);
    };
    let c2 = c.clone();
    // A probe only reads: it gets the short environment and leaves nothing running behind it.
    let ran = tokio::task::spawn_blocking(move || {
        let spec = Spec {
            argv: &c2.argv,
            working_dir: c2.working_dir.as_deref(),
            env_allow: &[],
            timeout,
            cancel: None,
            leftovers: Leftovers::Kill,
            on_line: None,
        };
        process::run(&spec)
    })
    .await;
    let finished = match ran {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => return down(e, json!({ "argv": c.argv })),
        Err(e) => return down(format!("command probe failed: {e}"), json!({ "argv": c.argv })),
    };
    let status = match finished.ended {
        Ended::Exited(s) => s,
        Ended::TimedOut | Ended::Cancelled => {
            return down(format!("{program} did not finish within {} s and was stopped", timeout.as_secs()), json!({ "argv": c.argv }))
        }
        Ended::Lost(e) => return down(format!("lost track of {program}: {e}"), json!({ "argv": c.argv })),
    };
    let stdout = finished.stdout.text().trim().to_string();
    let stderr = finished.stderr.text().trim().to_string();
    let code = status.code();
    let mut details = json!({ "argv": c.argv, "exit_code": code, "stdout": stdout.chars().take(2000).collect::<String>(), "stderr": stderr.chars().take(2000).collect::<String>() });
    if code != Some(c.expect_exit) {
        let what = code.map_or("was killed by a signal".to_string(), |c| format!("exited with {c}"));
        let tail = if stderr.is_empty() { String::new() } else { format!(": {}", stderr.lines().last().unwrap_or("")) };
        return down(format!("{program} {what} (expected {}){tail}", c.expect_exit), details);
    }
    if c.warning_above.is_some() || c.critical_above.is_some() {
        let Ok(v) = stdout.lines().next().unwrap_or("").trim().parse::<f64>() else {
            return down(format!("expected a number on stdout, got {:?}", stdout.chars().take(80).collect::<String>()), details);
        };
        details["value"] = json!(v);
        return judge_value(v, c.critical_above, c.warning_above, None, None, details);
    }
    up(details)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command_check(argv: &[&str]) -> CheckConfig {
        CheckConfig {
            name: "Cmd".into(),
            interval_secs: 5,
            timeout_secs: 5,
            degraded_latency_ms: None,
            enabled: true,
            http: None,
            tcp: None,
            process: None,
            command: Some(CommandProbe {
                argv: argv.iter().map(|s| s.to_string()).collect(),
                expect_exit: 0,
                working_dir: None,
                warning_above: None,
                critical_above: None,
            }),
            json_value: None,
            max_severity: None,
        }
    }

    fn running(pid: i32) -> bool {
        let Some(pid) = rustix::process::Pid::from_raw(pid) else { return false };
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // A zombie waiting for its reaper is gone for our purpose.
            Ok(stat) => stat.rsplit(')').next().is_some_and(|rest| !rest.trim_start().starts_with('Z')),
            Err(_) => rustix::process::test_kill_process(pid).is_ok() && !std::path::Path::new("/proc/self").exists(),
        }
    }

    #[tokio::test]
    async fn the_http_client_is_built_by_the_first_http_probe_and_shared() {
        let prober = Prober::new().unwrap();
        let copy = prober.clone();
        prober.run(&command_check(&["/bin/sh", "-c", "true"]), 0).await;
        assert!(prober.http.get().is_none(), "no root certificates loaded without an HTTP check");
        // Nothing listens on port 9 of loopback; the probe is down, but it needed the client.
        let mut http = command_check(&[]);
        (http.command, http.http) = (None, Some(HttpProbe::get("http://127.0.0.1:9/")));
        assert_eq!(prober.run(&http, 0).await.status, CheckStatus::Down);
        let built = prober.http.get().map(|c| c as *const reqwest::Client);
        assert!(built.is_some());
        assert_eq!(copy.http.get().map(|c| c as *const reqwest::Client), built, "every check's copy uses the one client");
    }

    #[tokio::test]
    async fn a_command_probe_gets_a_short_environment() {
        std::env::set_var("CARETAKER_PROBE_TEST_SECRET", "s3cret");
        let r = Prober::new().unwrap().run(&command_check(&["/bin/sh", "-c", "echo \"[$CARETAKER_PROBE_TEST_SECRET]\""]), 0).await;
        assert_eq!(r.status, CheckStatus::Healthy, "{r:?}");
        assert_eq!(r.probe_details["stdout"], "[]");
    }

    #[tokio::test]
    async fn a_command_probe_leaves_nothing_running() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("bg.pid");
        let script = format!("sleep 60 & echo $! > {}; echo ok", pidfile.display());
        let r = Prober::new().unwrap().run(&command_check(&["/bin/sh", "-c", &script]), 0).await;
        assert_eq!(r.status, CheckStatus::Healthy, "{r:?}");
        assert!(r.latency_ms.is_some_and(|l| l < 4000.0), "the probe did not wait for its background child: {r:?}");
        let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while running(pid) {
            assert!(Instant::now() < deadline, "the probe's background child {pid} is still running");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
