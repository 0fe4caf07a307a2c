//! The `channel_outbox` and `channel_status` tables. A row goes pending -> sending -> delivered;
//! a row left "sending" by a crash goes back to pending at the next start, so a transition is
//! sent at most once more after a crash and never again once delivered.

use super::message::Message;
use crate::error::{EngineError, Result};
use rusqlite::{params, Connection, OptionalExtension};

/// A row waiting for delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: i64,
    pub created_at: i64,
    pub message: Message,
}

pub fn enqueue(c: &Connection, channel: &str, m: &Message, now: i64) -> Result<i64> {
    let payload = serde_json::to_string(m).map_err(|e| EngineError::Internal(format!("cannot encode a message: {e}")))?;
    c.execute(
        "INSERT INTO channel_outbox (channel, created_at, transition, alert_id, payload) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![channel, now, m.transition.as_str(), m.alert_id, payload],
    )?;
    Ok(c.last_insert_rowid())
}

/// When the newest row of this kind was written for `channel` (delivered or not).
pub fn last_of(c: &Connection, channel: &str, transition: super::message::Transition) -> Result<Option<i64>> {
    Ok(c.query_row(
        "SELECT MAX(created_at) FROM channel_outbox WHERE channel = ?1 AND transition = ?2",
        params![channel, transition.as_str()],
        |r| r.get(0),
    )?)
}

/// Rows a stop or crash left mid-send are pending again; returns how many.
pub fn reset_sending(c: &Connection) -> Result<usize> {
    Ok(c.execute("UPDATE channel_outbox SET state = 'pending' WHERE state = 'sending'", [])?)
}

/// The oldest pending rows of `channel`, oldest first.
pub fn pending(c: &Connection, channel: &str, limit: u32) -> Result<Vec<Row>> {
    let mut st = c.prepare_cached(
        "SELECT id, created_at, payload FROM channel_outbox WHERE channel = ?1 AND state = 'pending' ORDER BY id LIMIT ?2",
    )?;
    let rows = st.query_map(params![channel, limit], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)))?;
    let mut out = Vec::new();
    for r in rows {
        let (id, created_at, payload) = r?;
        match serde_json::from_str(&payload) {
            Ok(message) => out.push(Row { id, created_at, message }),
            // A row no build can read would block the channel forever.
            Err(e) => {
                tracing::warn!(id, "dropping an unreadable outbox row: {e}");
                c.execute("UPDATE channel_outbox SET state = 'failed', last_error = 'unreadable' WHERE id = ?1", [id])?;
            }
        }
    }
    Ok(out)
}

fn set_state(c: &Connection, ids: &[i64], sql: &str, p: &dyn Fn(i64) -> Vec<rusqlite::types::Value>) -> Result<()> {
    let tx = c.unchecked_transaction()?;
    {
        let mut st = tx.prepare_cached(sql)?;
        for id in ids {
            st.execute(rusqlite::params_from_iter(p(*id)))?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Marks rows as being sent, before the attempt.
pub fn mark_sending(c: &Connection, ids: &[i64]) -> Result<()> {
    set_state(c, ids, "UPDATE channel_outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ?1", &|id| vec![id.into()])
}

pub fn mark_delivered(c: &Connection, channel: &str, ids: &[i64], now: i64) -> Result<()> {
    set_state(c, ids, "UPDATE channel_outbox SET state = 'delivered', delivered_at = ?2, last_error = NULL WHERE id = ?1", &|id| {
        vec![id.into(), now.into()]
    })?;
    c.execute(
        "INSERT INTO channel_status (channel, last_success_at) VALUES (?1, ?2)
         ON CONFLICT(channel) DO UPDATE SET last_success_at = excluded.last_success_at",
        params![channel, now],
    )?;
    Ok(())
}

/// Puts rows back to pending with the failure, when `retry`; a test message is never retried:
/// it ends failed, as every row does without `retry`.
pub fn mark_failed(c: &Connection, channel: &str, ids: &[i64], error: &str, retry: bool, now: i64) -> Result<()> {
    set_state(
        c,
        ids,
        "UPDATE channel_outbox SET state = CASE WHEN transition = 'test' OR NOT ?3 THEN 'failed' ELSE 'pending' END, last_error = ?2 WHERE id = ?1",
        &|id| vec![id.into(), error.to_string().into(), retry.into()],
    )?;
    c.execute(
        "INSERT INTO channel_status (channel, last_failure_at, last_error) VALUES (?1, ?2, ?3)
         ON CONFLICT(channel) DO UPDATE SET last_failure_at = excluded.last_failure_at, last_error = excluded.last_error",
        params![channel, now, error],
    )?;
    Ok(())
}

/// (state, last error) of one row.
pub fn row_state(c: &Connection, id: i64) -> Result<Option<(String, Option<String>)>> {
    Ok(c.query_row("SELECT state, last_error FROM channel_outbox WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?)
}

/// (last success, last failure, its error, rows waiting) of a channel.
pub type Status = (Option<i64>, Option<i64>, Option<String>, u32);

pub fn status(c: &Connection, channel: &str) -> Result<Status> {
    let (ok, fail, err) = c
        .query_row("SELECT last_success_at, last_failure_at, last_error FROM channel_status WHERE channel = ?1", [channel], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?
        .unwrap_or((None, None, None));
    let waiting: u32 =
        c.query_row("SELECT COUNT(*) FROM channel_outbox WHERE channel = ?1 AND state IN ('pending', 'sending')", [channel], |r| r.get(0))?;
    Ok((ok, fail, err, waiting))
}

/// A renamed channel keeps what waits for it and its history.
pub fn rename(c: &Connection, from: &str, to: &str) -> Result<()> {
    c.execute("UPDATE channel_outbox SET channel = ?2 WHERE channel = ?1", params![from, to])?;
    c.execute("DELETE FROM channel_status WHERE channel = ?2", params![from, to])?;
    c.execute("UPDATE channel_status SET channel = ?2 WHERE channel = ?1", params![from, to])?;
    Ok(())
}

/// A deleted channel's waiting rows and status go (delivered rows stay until pruned).
pub fn forget(c: &Connection, channel: &str) -> Result<()> {
    c.execute("DELETE FROM channel_outbox WHERE channel = ?1 AND state IN ('pending', 'sending')", [channel])?;
    c.execute("DELETE FROM channel_status WHERE channel = ?1", [channel])?;
    Ok(())
}

/// Every channel as the app shows it. Blocking (reads the keychain).
pub fn statuses(
    db: &crate::store::Db,
    data_dir: &std::path::Path,
    channels: Vec<super::ChannelConfig>,
) -> Result<Vec<super::ChannelStatus>> {
    channels
        .into_iter()
        .map(|c| {
            let (last_success_at, last_failure_at, last_error, pending) = db.read(|conn| status(conn, &c.name))?;
            let missing_secrets = super::secret::missing(data_dir, &c);
            Ok(super::ChannelStatus {
                name: c.name,
                kind: c.kind,
                enabled: c.enabled,
                pending,
                last_success_at,
                last_failure_at,
                last_error,
                missing_secrets,
            })
        })
        .collect()
}

/// Delivered and failed rows older than `before` go; waiting ones always stay.
pub fn prune(c: &Connection, before: i64) -> Result<usize> {
    Ok(c.execute("DELETE FROM channel_outbox WHERE state IN ('delivered', 'failed') AND created_at < ?1", [before])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_goes_pending_sending_delivered_and_a_crash_sends_it_once_more() {
        let d = tempfile::tempdir().unwrap();
        let c = crate::store::open_and_migrate(&d.path().join("t.db")).unwrap();
        let m = Message::test("phone", "mini", 1);
        let a = enqueue(&c, "phone", &m, 1).unwrap();
        let b = enqueue(&c, "phone", &m, 2).unwrap();
        enqueue(&c, "mail", &m, 2).unwrap();
        assert_eq!(pending(&c, "phone", 10).unwrap().iter().map(|r| r.id).collect::<Vec<_>>(), vec![a, b]);
        mark_sending(&c, &[a, b]).unwrap();
        assert!(pending(&c, "phone", 10).unwrap().is_empty());
        assert_eq!(reset_sending(&c).unwrap(), 2, "a crash mid-send: both go again");
        mark_sending(&c, &[a]).unwrap();
        mark_delivered(&c, "phone", &[a], 5).unwrap();
        assert_eq!(reset_sending(&c).unwrap(), 0);
        assert_eq!(pending(&c, "phone", 10).unwrap().len(), 1, "delivered rows never again");
        mark_failed(&c, "phone", &[b], "HTTP 500", true, 6).unwrap();
        assert_eq!(row_state(&c, b).unwrap(), Some(("failed".into(), Some("HTTP 500".into()))), "a test is not retried");
        let mut alert = m.clone();
        alert.transition = super::super::message::Transition::Opened;
        let (x, y) = (enqueue(&c, "screen", &alert, 3).unwrap(), enqueue(&c, "mail", &alert, 3).unwrap());
        mark_failed(&c, "screen", &[x], "no notification server", false, 7).unwrap();
        mark_failed(&c, "mail", &[y], "refused", true, 7).unwrap();
        assert_eq!(row_state(&c, x).unwrap().map(|s| s.0), Some("failed".into()), "not retried when the channel says so");
        assert_eq!(row_state(&c, y).unwrap().map(|s| s.0), Some("pending".into()), "retried");
        assert_eq!(status(&c, "phone").unwrap(), (Some(5), Some(6), Some("HTTP 500".into()), 0));
        assert_eq!(status(&c, "mail").unwrap(), (None, Some(7), Some("refused".into()), 2));
        assert_eq!(prune(&c, 100).unwrap(), 3);
    }
}
