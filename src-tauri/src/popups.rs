//! One approval window per call that waits, opened the moment the broker says it waits and
//! closed the moment it settles (decided anywhere, timed out, withdrawn). The tray's count follows
//! the same events.

use std::collections::BTreeSet;
use std::time::Duration;

use mcpfw_daemon::approval::broker::ApprovalBroker;
use mcpfw_daemon::daemon::SignIn;
use serde_json::Value;
use std::sync::Arc;
use tauri::{AppHandle, Manager};
use tokio::sync::broadcast;

use crate::{Hosted, tray, windows};

/// At most this many approval windows are open at once; the rest wait their turn (and are all
/// on the dashboard's Live page).
const MAX_OPEN: usize = 3;

/// Which calls have a window, and which windows the person closed without deciding (those are
/// not opened again: the call stays on the dashboard until it settles).
#[derive(Default)]
struct Shown {
    open: BTreeSet<u64>,
    dismissed: BTreeSet<u64>,
}

/// Follows the broker's events on the daemon's runtime.
pub fn spawn(app: AppHandle, hosted: &Hosted, mut events: broadcast::Receiver<Value>) {
    let broker = hosted.daemon.broker().clone();
    let sign_in = hosted.daemon.sign_in();
    hosted.runtime.spawn(async move {
        let mut shown = Shown::default();
        // Also now and then: a window closed by hand lets the next call in line have one.
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = tick.tick() => {}
            }
            sync(&app, &broker, &sign_in, &mut shown).await;
        }
    });
}

/// Makes the windows and the tray match the pending calls.
async fn sync(app: &AppHandle, broker: &Arc<ApprovalBroker>, sign_in: &SignIn, shown: &mut Shown) {
    let pending = broker.pending().await;
    tray::show(app, pending.len(), broker.pause_state().await.as_ref());
    let waiting: BTreeSet<u64> = pending.iter().map(|call| call.id).collect();
    for id in shown.open.clone() {
        let window = app.get_webview_window(&windows::popup_label(id));
        if !waiting.contains(&id) {
            if let Some(window) = window {
                let _ = window.destroy();
            }
            shown.open.remove(&id);
        } else if window.is_none() {
            shown.open.remove(&id);
            shown.dismissed.insert(id);
        }
    }
    shown.dismissed.retain(|id| waiting.contains(id));
    for call in &pending {
        if shown.open.len() >= MAX_OPEN {
            break;
        }
        if shown.open.contains(&call.id) || shown.dismissed.contains(&call.id) {
            continue;
        }
        let opened = match sign_in.link().await {
            Ok(link) => windows::open_popup(app, sign_in.origin(), &link, call.id),
            Err(e) => Err(e.into()),
        };
        match opened {
            Ok(()) => {
                shown.open.insert(call.id);
            }
            Err(e) => {
                // The call still waits on the dashboard and in the notification.
                tracing::warn!(call = call.id, "no approval window: {e:#}");
                shown.dismissed.insert(call.id);
            }
        }
    }
}
