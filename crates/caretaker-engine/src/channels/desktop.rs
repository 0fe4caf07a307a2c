//! The built-in channel of this machine's own notifications: a folded burst shown through the
//! notification [`Sink`]; a click is reported as an event so the app opens on the alert.

use super::message::Outgoing;
use crate::alerts::notify::Sink;
use crate::events::Event;
use std::sync::Arc;
use tokio::sync::broadcast;

/// The alert a shown notification opens: the one it is about, or none for a burst (the
/// Alerts page) or a test.
pub fn clicked_alert(o: &Outgoing) -> Option<i64> {
    let first = o.parts.first()?.alert_id;
    (first > 0 && o.parts.iter().all(|p| p.alert_id == first)).then_some(first)
}

/// Shows `o`. A failure is the notification server's answer (a headless box has none); it is not
/// retried: a late pop-up about an old burst helps nobody, and the alert stays in the app.
pub async fn show(sink: Arc<dyn Sink>, o: &Outgoing, bus: broadcast::Sender<Event>) -> Result<(), String> {
    let (title, body, critical, alert_id) = (o.title.clone(), o.body.clone(), o.critical, clicked_alert(o));
    let on_click = Box::new(move || {
        let _ = bus.send(Event::NotificationClicked { alert_id });
    });
    match tokio::task::spawn_blocking(move || sink.show_clickable(&title, &body, critical, on_click)).await {
        Ok(r) => r,
        Err(e) => Err(format!("the notification task failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::message::{fold, Message};

    #[test]
    fn a_click_opens_the_alert_it_is_about() {
        let mut a = Message::test("x", "mini", 1);
        a.alert_id = 7;
        let one = fold(vec![a.clone()]).unwrap();
        assert_eq!(clicked_alert(&one), Some(7));
        assert_eq!(clicked_alert(&fold(vec![a.clone(), a.clone()]).unwrap()), Some(7), "opened and escalated at once");
        let mut b = a.clone();
        b.alert_id = 8;
        assert_eq!(clicked_alert(&fold(vec![a, b]).unwrap()), None, "a burst opens the Alerts page");
        assert_eq!(clicked_alert(&fold(vec![Message::test("x", "mini", 1)]).unwrap()), None, "a test is about no alert");
    }
}
