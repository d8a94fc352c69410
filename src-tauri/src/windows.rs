//! The app's windows: the dashboard, approval popups and a notice for when the daemon cannot run.
//!
//! The dashboard and the popups show pages served by the in-process daemon, from its loopback
//! origin `http://127.0.0.1:PORT`. Each window first opens a one-time sign-in link
//! (`/login?code=…`, minted in this process with the approver token), which the daemon turns into
//! an `HttpOnly; SameSite=Strict` session cookie and redirects to the page; the redirect keeps
//! the link's `#/…` route. So the token never enters web content, and the pages run exactly as in
//! a browser signed in with `mcpfw dashboard`. The app's windows share one cookie jar (their
//! own, not a browser's), so each sign-in replaces the one session cookie every window uses; the
//! cookie has no expiry date and is never written to disk. A webview may only ever navigate
//! within that origin. None of these pages is granted a Tauri IPC command (the app has no
//! capabilities at all).

use anyhow::{Context, Result};
use tauri::webview::WebviewWindowBuilder;
use tauri::{AppHandle, Manager, Url, WebviewUrl};

use crate::AppState;

/// The dashboard window's label.
pub const MAIN: &str = "main";
/// The notice window's label.
pub const NOTICE: &str = "notice";
/// The argument the login item starts the app with: no window, the tray only.
pub const HIDDEN_ARG: &str = "--hidden";
/// The title every approval window starts with (tests find the windows by it).
pub const POPUP_TITLE: &str = "MCP Firewall approval";

/// The label of the approval window for pending call `id`.
pub fn popup_label(id: u64) -> String {
    format!("popup-{id}")
}

/// Whether `url` is the daemon's own origin (`origin` is `http://127.0.0.1:PORT`).
pub fn same_origin(url: &Url, origin: &str) -> bool {
    Url::parse(origin).is_ok_and(|own| {
        url.scheme() == own.scheme()
            && url.host_str() == own.host_str()
            && url.port_or_known_default() == own.port_or_known_default()
    })
}

/// `sign_in` (a one-time `/login?code=…` link) that lands on the dashboard's `route`.
fn signed_in(sign_in: &str, route: &str) -> Result<Url> {
    let mut url = Url::parse(sign_in).context("the sign-in link is not a URL")?;
    url.set_fragment(Some(route));
    Ok(url)
}

/// Opens (or re-shows) the dashboard window.
pub fn open_main(app: &AppHandle, origin: &str, sign_in: &str, visible: bool) -> Result<()> {
    let own = origin.to_owned();
    let window =
        WebviewWindowBuilder::new(app, MAIN, WebviewUrl::External(signed_in(sign_in, "/live")?))
            .title("MCP Firewall")
            .inner_size(1100.0, 720.0)
            .min_inner_size(640.0, 480.0)
            .center()
            .visible(visible)
            .on_navigation(move |url| same_origin(url, &own))
            .build()
            .context("cannot open the dashboard's window")?;
    if visible {
        let _ = window.set_focus();
    }
    Ok(())
}

/// Brings the dashboard forward (a second launch, the tray), signed in afresh (a session ends
/// after 12 hours) and at `route`; when the daemon could not start, the notice instead.
pub fn show_dashboard(app: &AppHandle, route: &str) {
    let hosted = app
        .state::<AppState>()
        .hosted
        .lock()
        .ok()
        .and_then(|h| h.as_ref().map(|h| (h.daemon.sign_in(), h.runtime.handle().clone())));
    let Some((sign_in, runtime)) = hosted else {
        show(app, NOTICE);
        return;
    };
    let (app, route) = (app.clone(), route.to_owned());
    runtime.spawn(async move {
        match sign_in
            .link()
            .await
            .map_err(anyhow::Error::from)
            .and_then(|link| signed_in(&link, &route))
        {
            Ok(url) => {
                if let Some(window) = app.get_webview_window(MAIN) {
                    let _ = window.navigate(url);
                }
            }
            Err(e) => tracing::warn!("cannot sign the dashboard in again: {e:#}"),
        }
        show(&app, MAIN);
    });
}

fn show(app: &AppHandle, label: &str) {
    if let Some(window) = app.get_webview_window(label) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// Opens an approval window for pending call `id`.
pub fn open_popup(app: &AppHandle, origin: &str, sign_in: &str, id: u64) -> Result<()> {
    let own = origin.to_owned();
    let window = WebviewWindowBuilder::new(
        app,
        popup_label(id),
        WebviewUrl::External(signed_in(sign_in, &format!("/popup/{id}"))?),
    )
    .title(format!("{POPUP_TITLE} #{id}"))
    .inner_size(560.0, 660.0)
    .min_inner_size(420.0, 420.0)
    .center()
    .always_on_top(true)
    .focused(true)
    .on_navigation(move |url| same_origin(url, &own))
    .build()
    .with_context(|| format!("cannot open the approval window for call {id}"))?;
    let _ = window.set_focus();
    Ok(())
}

/// A window with a message (the app's own page `notice.html`, which reads the text from
/// `window.__MCPFW_NOTICE__`, set by an initialization script: no IPC is involved).
pub fn open_notice(app: &AppHandle, title: &str, body: &str) -> Result<()> {
    if let Some(old) = app.get_webview_window(NOTICE) {
        let _ = old.destroy();
    }
    let text = serde_json::json!({ "title": title, "body": body });
    let window = WebviewWindowBuilder::new(app, NOTICE, WebviewUrl::App("notice.html".into()))
        .title(format!("MCP Firewall — {title}"))
        .inner_size(560.0, 320.0)
        .center()
        .focused(true)
        .initialization_script(format!("window.__MCPFW_NOTICE__ = {text};"))
        .on_navigation(|url| url.scheme() == "tauri" || url.host_str() == Some("tauri.localhost"))
        .build()
        .context("cannot open a window")?;
    let _ = window.set_focus();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webviews_stay_on_the_daemons_origin() {
        let own = "http://127.0.0.1:4711";
        for ok in ["http://127.0.0.1:4711/", "http://127.0.0.1:4711/login?code=x#/popup/3"] {
            assert!(same_origin(&Url::parse(ok).unwrap(), own), "{ok}");
        }
        for bad in [
            "http://127.0.0.1:4712/",
            "https://127.0.0.1:4711/",
            "http://localhost.evil.example:4711/",
            "http://evil.example/?http://127.0.0.1:4711",
            "file:///etc/passwd",
        ] {
            assert!(!same_origin(&Url::parse(bad).unwrap(), own), "{bad}");
        }
    }

    #[test]
    fn a_sign_in_link_lands_on_its_route() {
        let url = signed_in("http://127.0.0.1:1/login?code=abc", "/popup/7").unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:1/login?code=abc#/popup/7");
    }
}
