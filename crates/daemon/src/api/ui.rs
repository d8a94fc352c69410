//! The dashboard's pages: the built UI (`ui/dist`) served from a folder, with strict security
//! headers.
//!
//! The files need no sign-in: they are the same for everyone and hold no secrets (everything
//! private comes from the API, which does need it). That lets the page itself say "sign in with
//! `mcpfw dashboard`" instead of failing blankly. Only files inside the folder are served; any
//! path with `..`, a backslash or a hidden component is refused.

use std::path::{Component, Path, PathBuf};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The Content-Security-Policy of every response: scripts, styles and connections to this
/// origin only; no inline code, no frames, no plugins, no forms posting elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// Where the built dashboard is looked for when neither `--ui-dir` nor `MCPFW_UI_DIR` is given:
/// `ui` next to the executable (an installed copy), then `ui/dist` in the source tree.
pub fn default_ui_dir() -> PathBuf {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("ui")))
        .filter(|dir| dir.join("index.html").is_file());
    beside.unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/dist"))
}

/// Adds the headers every response of this server carries.
pub fn secure_headers(headers: &mut HeaderMap) {
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.entry(header::CACHE_CONTROL).or_insert_with(|| HeaderValue::from_static("no-store"));
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "map" => "application/json",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// A small HTML page for the cases where the dashboard cannot be shown.
pub fn message_page(status: StatusCode, title: &str, body: &str) -> Response {
    let escape = |s: &str| {
        s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>MCP Firewall — {}</title></head>\
         <body><h1>{}</h1><p>{}</p></body></html>",
        escape(title),
        escape(title),
        escape(body)
    );
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// The file for a request path: `/` is `index.html`; anything that could leave the folder is
/// `None`.
fn resolve(dir: &Path, request_path: &str) -> Option<PathBuf> {
    let relative = request_path.trim_start_matches('/');
    let relative = if relative.is_empty() { "index.html" } else { relative };
    if relative.contains('\\') {
        return None;
    }
    let mut out = dir.to_path_buf();
    for component in Path::new(relative).components() {
        match component {
            Component::Normal(part) if !part.to_string_lossy().starts_with('.') => out.push(part),
            _ => return None,
        }
    }
    Some(out)
}

/// Serves `request_path` from `dir`.
pub async fn serve_file(dir: &Path, request_path: &str) -> Response {
    if !dir.join("index.html").is_file() {
        return message_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "The dashboard is not built",
            &format!(
                "There is no dashboard in {}. Build it with `npm ci && npm run build` in the ui/ \
                 folder of the source tree (scripts/test does this), or point the daemon at a \
                 built copy with `mcpfw daemon --ui-dir DIR` or MCPFW_UI_DIR. The API itself works.",
                dir.display()
            ),
        );
    }
    let Some(path) = resolve(dir, request_path) else {
        return message_page(StatusCode::NOT_FOUND, "Not found", "There is no such page.");
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let cache = if request_path.starts_with("/assets/") {
                // Built assets carry a content hash in their names.
                "public, max-age=31536000, immutable"
            } else {
                "no-store"
            };
            ([(header::CONTENT_TYPE, content_type(&path)), (header::CACHE_CONTROL, cache)], bytes)
                .into_response()
        }
        Err(_) => message_page(StatusCode::NOT_FOUND, "Not found", "There is no such page."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_inside_the_folder_are_served() {
        let dir = Path::new("/srv/ui");
        assert_eq!(resolve(dir, "/"), Some(dir.join("index.html")));
        assert_eq!(resolve(dir, "/assets/app.js"), Some(dir.join("assets/app.js")));
        for bad in ["/../secret", "/assets/../../x", "/.env", "/a\\..\\b", "//etc/passwd"] {
            let resolved = resolve(dir, bad);
            assert!(
                resolved.as_ref().is_none_or(|p| p.starts_with(dir) && !p.ends_with(".env")),
                "{bad} -> {resolved:?}"
            );
        }
        assert_eq!(resolve(dir, "/../secret"), None);
        assert_eq!(resolve(dir, "/.env"), None);
    }
}
