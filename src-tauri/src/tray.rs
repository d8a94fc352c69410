//! The tray icon: how many calls wait, and the app's menu.

use std::sync::Mutex;

use anyhow::{Context, Result};
use mcpfw_core::paths::Paths;
use mcpfw_daemon::approval::PauseState;
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};
use tauri_plugin_autostart::ManagerExt;

use crate::{AppState, windows};

const TRAY: &str = "mcpfw";

/// The menu items whose text changes, and what the tray shows now.
struct TrayItems {
    pending: MenuItem<Wry>,
    autostart: CheckMenuItem<Wry>,
    pause: Submenu<Wry>,
    resume: MenuItem<Wry>,
    /// The normal icon and its paused variant.
    icons: Option<(Image<'static>, Image<'static>)>,
    shown: Mutex<Shown>,
}

/// What the tray last showed, so it is only touched when something changed.
#[derive(Default, PartialEq, Eq, Clone)]
struct Shown {
    pending: usize,
    /// Minutes left of a pause (`Some(None)`: until resumed).
    paused: Option<Option<u64>>,
    set: bool,
}

/// How many minutes of a pause are left (rounded up); `None` for a pause until resumed.
pub fn minutes_left(pause: &PauseState, now_ms: u64) -> Option<u64> {
    pause.until_ms.map(|until| until.saturating_sub(now_ms).div_ceil(60_000))
}

/// The tray's tooltip for `n` waiting calls, and a pause in effect (minutes left).
pub fn tooltip(n: usize, paused: Option<Option<u64>>) -> String {
    let waiting = match n {
        0 => String::new(),
        1 => " 1 call waits for your approval.".into(),
        n => format!(" {n} calls wait for your approval."),
    };
    match paused {
        None if n == 0 => "MCP Firewall: protecting; nothing waits for you".into(),
        None => format!("MCP Firewall:{waiting}"),
        Some(left) => {
            let until = match left {
                Some(1) => "for 1 more minute".to_owned(),
                Some(m) => format!("for {m} more minutes"),
                None => "until you resume it".to_owned(),
            };
            format!(
                "MCP Firewall: PROTECTION PAUSED {until}: calls that would ask you run without asking.{waiting}"
            )
        }
    }
}

/// The "Pending approvals" item's text for `n` waiting calls.
pub fn pending_label(n: usize) -> String {
    if n == 0 { "Pending approvals".into() } else { format!("Pending approvals ({n})") }
}

/// The tray icon while paused: the normal one with an amber pause sign in its lower right
/// quarter, so the state shows even where the tray has no tooltip or title.
pub fn paused_icon(icon: &Image<'_>) -> Image<'static> {
    let (w, h) = (icon.width() as usize, icon.height() as usize);
    let mut rgba = icon.rgba().to_vec();
    // A disc of radius r at the lower right, with two dark bars in it.
    let r = (w.min(h) as f32) * 0.27;
    let (cx, cy) = (w as f32 - r - 0.5, h as f32 - r - 0.5);
    for y in 0..h {
        for x in 0..w {
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            if dx * dx + dy * dy > r * r {
                continue;
            }
            let bar = dy.abs() < r * 0.55
                && ((dx > -r * 0.5 && dx < -r * 0.12) || (dx > r * 0.12 && dx < r * 0.5));
            let colour: [u8; 4] = if bar { [40, 30, 0, 255] } else { [255, 176, 0, 255] };
            let i = (y * w + x) * 4;
            rgba[i..i + 4].copy_from_slice(&colour);
        }
    }
    Image::new_owned(rgba, w as u32, h as u32)
}

pub fn build(app: &AppHandle, paths: &Paths) -> Result<()> {
    let open = MenuItem::with_id(app, "open", "Open dashboard", true, None::<&str>)?;
    let pending = MenuItem::with_id(app, "pending", pending_label(0), true, None::<&str>)?;
    let pause = Submenu::with_id_and_items(
        app,
        "pause",
        "Pause protection",
        true,
        &[
            &MenuItem::with_id(app, "pause-15", "For 15 minutes", true, None::<&str>)?,
            &MenuItem::with_id(app, "pause-60", "For 1 hour", true, None::<&str>)?,
            &MenuItem::with_id(app, "pause-until-resume", "Until I resume", true, None::<&str>)?,
        ],
    )?;
    let resume = MenuItem::with_id(app, "resume", "Resume protection", false, None::<&str>)?;
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
            &resume,
            &autostart,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    let icons = paths.runtime.join("tray");
    Paths::ensure(&icons)?;
    let mut tray = TrayIconBuilder::with_id(TRAY)
        .menu(&menu)
        .tooltip(tooltip(0, None))
        // The icon's image is written to a file for the tray host: keep it in our own folder.
        .temp_dir_path(&icons)
        .on_menu_event(move |app, event| match event.id().as_ref() {
            "open" => windows::show_dashboard(app, "/live"),
            "pending" => windows::show_dashboard(app, "/live"),
            "pause-15" => change_pause(app, Some(Some(15))),
            "pause-60" => change_pause(app, Some(Some(60))),
            "pause-until-resume" => change_pause(app, Some(None)),
            "resume" => change_pause(app, None),
            "autostart" => toggle_autostart(app),
            "quit" => app.exit(0),
            _ => {}
        });
    let icons = app.default_window_icon().map(|icon| (icon.clone().to_owned(), paused_icon(icon)));
    if let Some((icon, _)) = &icons {
        tray = tray.icon(icon.clone());
    }
    tray.build(app).context("cannot create the tray icon")?;
    app.manage(TrayItems { pending, autostart, pause, resume, icons, shown: Mutex::default() });
    Ok(())
}

/// Pauses protection (`Some(minutes)`, `Some(None)`: until resumed) or resumes it (`None`), in
/// the hosted daemon; the tray follows from the broker's event.
fn change_pause(app: &AppHandle, pause: Option<Option<u64>>) {
    let state = app.state::<AppState>();
    let hosted = state.hosted.lock().unwrap_or_else(|p| p.into_inner());
    let Some(hosted) = hosted.as_ref() else { return };
    let broker = hosted.daemon.broker().clone();
    hosted.runtime.spawn(async move {
        match pause {
            Some(minutes) => {
                if let Err(e) = broker.pause(minutes).await {
                    tracing::warn!("cannot pause protection: {e}");
                }
            }
            None => {
                broker.resume().await;
            }
        }
    });
}

/// Turns starting at login on or off (the check mark follows what really happened).
fn toggle_autostart(app: &AppHandle) {
    let autolaunch = app.autolaunch();
    let on = autolaunch.is_enabled().unwrap_or(false);
    if !on {
        ensure_autostart_dir();
    }
    let result = if on { autolaunch.disable() } else { autolaunch.enable() };
    if let Err(e) = result {
        tracing::warn!("cannot change starting at login: {e}");
    }
    let now = autolaunch.is_enabled().unwrap_or(false);
    tracing::info!(enabled = now, "start at login");
    show_autostart(app, now);
}

/// Shows whether the app starts at login in the tray's menu (also when the dashboard changed it).
pub fn show_autostart(app: &AppHandle, on: bool) {
    if let Some(items) = app.try_state::<TrayItems>() {
        let _ = items.autostart.set_checked(on);
    }
}

/// The login launcher writes `~/.config/autostart/` but creates only the last folder of it, so
/// on a system where `~/.config` does not exist yet, it is made here first.
#[cfg(target_os = "linux")]
pub fn ensure_autostart_dir() {
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        let dir = std::path::Path::new(&home).join(".config").join("autostart");
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), "cannot create the autostart folder: {e}");
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub fn ensure_autostart_dir() {}

/// Shows `n` waiting calls and a pause in effect on the tray (the title next to the icon where
/// the tray host shows one, the tooltip, the icon while paused) and in the menu.
pub fn show(app: &AppHandle, n: usize, pause: Option<&PauseState>) {
    let Some(items) = app.try_state::<TrayItems>() else { return };
    let now = Shown {
        pending: n,
        paused: pause.map(|p| minutes_left(p, mcpfw_core::record::now_ms())),
        set: true,
    };
    {
        let mut shown = items.shown.lock().unwrap_or_else(|p| p.into_inner());
        if *shown == now {
            return;
        }
        *shown = now.clone();
    }
    if let Some(tray) = app.tray_by_id(TRAY) {
        let _ = tray.set_tooltip(Some(tooltip(n, now.paused)));
        let title = match (n, now.paused.is_some()) {
            (0, false) => None,
            (0, true) => Some("PAUSED".to_owned()),
            (n, false) => Some(n.to_string()),
            (n, true) => Some(format!("{n} · PAUSED")),
        };
        let _ = tray.set_title(title);
        if let Some((normal, paused)) = &items.icons {
            let _ = tray.set_icon(Some(if now.paused.is_some() { paused } else { normal }.clone()));
        }
    }
    let _ = items.pending.set_text(pending_label(n));
    let _ = items.pause.set_enabled(now.paused.is_none());
    let _ = items.resume.set_enabled(now.paused.is_some());
    let _ = items.resume.set_text(match now.paused {
        None => "Resume protection".to_owned(),
        Some(None) => "Resume protection (paused)".to_owned(),
        Some(Some(m)) => format!("Resume protection (paused, {m} min left)"),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tray_says_how_many_calls_wait() {
        assert_eq!(tooltip(0, None), "MCP Firewall: protecting; nothing waits for you");
        assert_eq!(tooltip(1, None), "MCP Firewall: 1 call waits for your approval.");
        assert_eq!(tooltip(4, None), "MCP Firewall: 4 calls wait for your approval.");
        assert_eq!(pending_label(0), "Pending approvals");
        assert_eq!(pending_label(2), "Pending approvals (2)");
    }

    #[test]
    fn a_pause_is_plain_to_see() {
        assert_eq!(
            tooltip(0, Some(Some(15))),
            "MCP Firewall: PROTECTION PAUSED for 15 more minutes: calls that would ask you run without asking."
        );
        assert!(tooltip(2, Some(None)).contains("until you resume it"));
        assert!(tooltip(2, Some(None)).ends_with("2 calls wait for your approval."));
        let pause = PauseState { since_ms: 0, until_ms: Some(90_001) };
        assert_eq!(minutes_left(&pause, 0), Some(2));
        assert_eq!(minutes_left(&pause, 90_001), Some(0));
        assert_eq!(minutes_left(&PauseState { since_ms: 0, until_ms: None }, 5), None);
        // The paused icon keeps its size and has amber in its lower right corner only.
        let icon = Image::new_owned(vec![10; 32 * 32 * 4], 32, 32);
        let paused = paused_icon(&icon);
        assert_eq!((paused.width(), paused.height()), (32, 32));
        let px = |x: usize, y: usize| paused.rgba()[(y * 32 + x) * 4..][..4].to_vec();
        assert_eq!(px(2, 2), vec![10; 4]);
        assert_eq!(px(22, 29), vec![255, 176, 0, 255], "the amber disc");
        assert_eq!(px(20, 22), vec![40, 30, 0, 255], "a pause bar");
    }
}
