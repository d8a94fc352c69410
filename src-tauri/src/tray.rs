//! The tray icon: how many calls wait, and the app's menu.

use anyhow::{Context, Result};
use mcpfw::paths::Paths;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};
use tauri_plugin_autostart::ManagerExt;

use crate::windows;

const TRAY: &str = "mcpfw";

/// The menu items whose text changes.
struct TrayItems {
    pending: MenuItem<Wry>,
    autostart: CheckMenuItem<Wry>,
}

/// The tray's tooltip for `n` waiting calls.
pub fn tooltip(n: usize) -> String {
    match n {
        0 => "MCP Firewall: protecting; nothing waits for you".into(),
        1 => "MCP Firewall: 1 call waits for your approval".into(),
        n => format!("MCP Firewall: {n} calls wait for your approval"),
    }
}

/// The "Pending approvals" item's text for `n` waiting calls.
pub fn pending_label(n: usize) -> String {
    if n == 0 { "Pending approvals".into() } else { format!("Pending approvals ({n})") }
}

const PAUSE_TITLE: &str = "Pausing protection is not available yet";
const PAUSE_BODY: &str = "MCP Firewall cannot pause protection yet: every call is still checked, \
    and calls that need your approval still wait for you (in a popup, a notification and on the \
    dashboard's Live page). To let a kind of call through without asking, add an allow rule on \
    the dashboard's Rules page or with `mcpfw rules add --action allow …`.";

pub fn build(app: &AppHandle, paths: &Paths) -> Result<()> {
    let open = MenuItem::with_id(app, "open", "Open dashboard", true, None::<&str>)?;
    let pending = MenuItem::with_id(app, "pending", pending_label(0), true, None::<&str>)?;
    let pause = MenuItem::with_id(app, "pause", "Pause protection…", true, None::<&str>)?;
    let autostart_on = app.autolaunch().is_enabled().unwrap_or(false);
    let autostart = CheckMenuItem::with_id(
        app,
        "autostart",
        "Start at login",
        true,
        autostart_on,
        None::<&str>,
    )?;
    let quit = MenuItem::with_id(app, "quit", "Quit MCP Firewall", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &open,
            &pending,
            &PredefinedMenuItem::separator(app)?,
            &pause,
            &autostart,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    let icons = paths.runtime.join("tray");
    Paths::ensure(&icons)?;
    let mut tray = TrayIconBuilder::with_id(TRAY)
        .menu(&menu)
        .tooltip(tooltip(0))
        // The icon's image is written to a file for the tray host: keep it in our own folder.
        .temp_dir_path(&icons)
        .on_menu_event(move |app, event| match event.id().as_ref() {
            "open" => windows::show_dashboard(app, "/live"),
            "pending" => windows::show_dashboard(app, "/live"),
            "pause" => {
                if let Err(e) = windows::open_notice(app, PAUSE_TITLE, PAUSE_BODY) {
                    tracing::warn!("{e:#}");
                }
            }
            "autostart" => toggle_autostart(app),
            "quit" => app.exit(0),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app).context("cannot create the tray icon")?;
    app.manage(TrayItems { pending, autostart });
    Ok(())
}

/// Turns starting at login on or off (the check mark follows what really happened).
fn toggle_autostart(app: &AppHandle) {
    let autolaunch = app.autolaunch();
    let on = autolaunch.is_enabled().unwrap_or(false);
    let result = if on { autolaunch.disable() } else { autolaunch.enable() };
    if let Err(e) = result {
        tracing::warn!("cannot change starting at login: {e}");
    }
    let now = autolaunch.is_enabled().unwrap_or(false);
    tracing::info!(enabled = now, "start at login");
    if let Some(items) = app.try_state::<TrayItems>() {
        let _ = items.autostart.set_checked(now);
    }
}

/// Shows `n` waiting calls on the tray (the title next to the icon where the tray host shows
/// one, the tooltip elsewhere) and in the menu.
pub fn set_pending(app: &AppHandle, n: usize) {
    if let Some(tray) = app.tray_by_id(TRAY) {
        let _ = tray.set_tooltip(Some(tooltip(n)));
        let _ = tray.set_title(if n == 0 { None } else { Some(n.to_string()) });
    }
    if let Some(items) = app.try_state::<TrayItems>() {
        let _ = items.pending.set_text(pending_label(n));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tray_says_how_many_calls_wait() {
        assert_eq!(tooltip(0), "MCP Firewall: protecting; nothing waits for you");
        assert_eq!(tooltip(1), "MCP Firewall: 1 call waits for your approval");
        assert_eq!(tooltip(4), "MCP Firewall: 4 calls wait for your approval");
        assert_eq!(pending_label(0), "Pending approvals");
        assert_eq!(pending_label(2), "Pending approvals (2)");
    }
}
