//! Desktop notifications: each call that starts waiting for a person is announced with a
//! native notification (freedesktop notifications over D-Bus, through notify-rust), which is
//! taken down again when the call is decided, times out or is withdrawn.
//!
//! A notification says which server and tool, what kind of call, why it is asked (which may
//! name a path or host) and how to answer it; it never shows the arguments themselves (file
//! contents, payloads, secrets), since notifications can appear on a locked screen. Without a session bus
//! or a notification server there is nothing to show: that is said once in the log, and
//! approvals go on through the other approvers.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use notify_rust::{Notification, Timeout};
use serde_json::Value;

use super::Pending;
use crate::platform::notify::{self as desktop, Shown};

/// Announces the broker's waiting calls until its event stream ends, while `enabled` is set
/// (the dashboard's Settings change it live; notifications already shown are still taken down).
pub fn spawn(mut events: tokio::sync::broadcast::Receiver<Value>, enabled: Arc<AtomicBool>) {
    // notify-rust blocks on D-Bus: the notifications are shown from a thread of their own.
    let (tx, rx) = mpsc::channel::<Value>();
    let shown =
        std::thread::Builder::new().name("mcpfw-notify".into()).spawn(move || show(rx, &enabled));
    if let Err(e) = shown {
        tracing::warn!("desktop notifications are off: cannot start their thread: {e}");
        return;
    }
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if tx.send(event).is_err() {
                        break;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// Shows a one-off notice; says once in the log when there is no notification server.
fn notice(summary: &str, body: &str, icon: &str, failed: &mut bool) -> Option<Shown> {
    let mut notification = Notification::new();
    notification.appname("MCP Firewall").summary(summary).body(body).icon(icon);
    let shown = desktop::show(desktop::urgent(&mut notification, false));
    match shown {
        Ok(handle) => Some(handle),
        Err(e) => {
            if !*failed {
                *failed = true;
                tracing::info!("no desktop notification (no notification server: {e})");
            }
            None
        }
    }
}

/// The summary and body of the notice for a pause that began (`Some`) or ended.
pub fn pause_notice(pause: Option<&super::PauseState>, how: &str) -> (String, String) {
    match pause {
        Some(p) => {
            let length = match p.until_ms {
                Some(until) => {
                    let minutes = until.saturating_sub(p.since_ms).div_ceil(60_000);
                    format!("for {minutes} minute{}", if minutes == 1 { "" } else { "s" })
                }
                None => "until you resume it".to_owned(),
            };
            (
                format!("Protection paused {length}"),
                "Calls that would ask for your approval run without asking until then; each is \
                 recorded. Refusals by rules, guards and detectors still apply. Resume with \
                 `mcpfw resume`, the tray or the dashboard."
                    .to_owned(),
            )
        }
        None => (
            "Protection resumed".to_owned(),
            if how == "expired" {
                "The pause is over: calls that need your approval wait for you again."
            } else {
                "Calls that need your approval wait for you again."
            }
            .to_owned(),
        ),
    }
}

fn show(events: mpsc::Receiver<Value>, enabled: &AtomicBool) {
    let mut open: HashMap<u64, Shown> = HashMap::new();
    // The notice of a pause in effect, taken down when it ends.
    let mut paused: Option<Shown> = None;
    let mut failed = false;
    for event in events {
        let kind = event["event"].as_str();
        if kind != Some("settled") && !enabled.load(Ordering::Relaxed) {
            continue;
        }
        match kind {
            Some("pending") => {
                let Ok(call) = serde_json::from_value::<Pending>(event["call"].clone()) else {
                    continue;
                };
                match desktop::show(&notification(&call)) {
                    Ok(handle) => {
                        tracing::debug!(call = call.id, "desktop notification shown");
                        open.insert(call.id, handle);
                    }
                    Err(e) if !failed => {
                        failed = true;
                        tracing::info!(
                            "no desktop notification for calls waiting for approval \
                             (no notification server in this session: {e})"
                        );
                    }
                    Err(_) => {}
                }
            }
            Some("withheld") => {
                let text = |k: &str| plain(event[k].as_str().unwrap_or("?"), 300);
                notice(
                    &format!("Withheld {} · {}", text("server"), text("tool")),
                    &format!(
                        "{}\n\nSee `mcpfw tools list` or the dashboard's Servers &amp; tools page.",
                        text("reason")
                    ),
                    "security-high",
                    &mut failed,
                );
            }
            Some("config_change") => {
                let text = |k: &str| plain(event[k].as_str().unwrap_or("?"), 300);
                notice(
                    &format!("MCP configuration changed · {}", text("server")),
                    &format!("{}\n\nSee `mcpfw status`.", text("reason")),
                    "security-medium",
                    &mut failed,
                );
            }
            Some("pause") => {
                if let Some(old) = paused.take() {
                    old.close();
                }
                let pause =
                    serde_json::from_value::<super::PauseState>(event["pause"].clone()).ok();
                let (summary, body) =
                    pause_notice(pause.as_ref(), event["how"].as_str().unwrap_or_default());
                let icon = if pause.is_some() { "security-low" } else { "security-high" };
                let handle = notice(&summary, &body, icon, &mut failed);
                if pause.is_some() {
                    paused = handle;
                }
            }
            Some("settled") => {
                if let Some(handle) = event["id"].as_u64().and_then(|id| open.remove(&id)) {
                    handle.close();
                }
            }
            _ => {}
        }
    }
}

/// The notification for one waiting call.
pub fn notification(call: &Pending) -> Notification {
    let request = &call.request;
    let steps = if request.confirm.is_some() { " (two steps)" } else { "" };
    let body = format!(
        "{reason}\n\nAnswer with `mcpfw approve {id}`{steps} or `mcpfw deny {id}`; \
         it is refused in {secs} s if nobody answers.",
        reason = plain(&request.reason, 300),
        id = call.id,
        secs = call.expires_in_ms / 1000,
    );
    let mut n = Notification::new();
    n.appname("MCP Firewall")
        .summary(&format!(
            "Approve {} · {} ({})?",
            plain(&request.server, 60),
            plain(&request.tool, 60),
            request.category
        ))
        .body(&body)
        .icon("dialog-warning")
        .timeout(Timeout::Never);
    desktop::urgent(&mut n, true);
    n
}

/// Untrusted text (server and tool names come from the server) as one line of plain text:
/// control and invisible characters dropped, markup characters escaped (notification servers
/// may render a subset of HTML in the body), at most `max` characters.
fn plain(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for (count, c) in text.chars().enumerate() {
        if count == max {
            out.push('…');
            break;
        }
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c if c.is_control() || crate::text::is_invisible(c) => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_names_cannot_inject_markup_or_hidden_lines() {
        assert_eq!(
            plain("<a href='x'>evil</a>\nline\u{202e}", 100),
            "&lt;a href='x'&gt;evil&lt;/a&gt; line "
        );
        assert_eq!(plain("abcdef", 3), "abc…");
    }

    #[test]
    fn a_pause_and_its_end_are_announced_plainly() {
        let p = |until_ms| super::super::PauseState { since_ms: 1_000, until_ms };
        assert_eq!(
            pause_notice(Some(&p(Some(901_000))), "paused").0,
            "Protection paused for 15 minutes"
        );
        assert_eq!(
            pause_notice(Some(&p(Some(61_000))), "paused").0,
            "Protection paused for 1 minute"
        );
        assert_eq!(
            pause_notice(Some(&p(None)), "paused").0,
            "Protection paused until you resume it"
        );
        let (summary, body) = pause_notice(None, "expired");
        assert_eq!(summary, "Protection resumed");
        assert!(body.starts_with("The pause is over"), "{body}");
    }
}
