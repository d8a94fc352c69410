//! What the daemon's loopback HTTP API offers beyond approvals: browser sign-in, the dashboard's
//! pages, rules, servers, statistics and settings.
//!
//! The router and the guard every request passes are in [`crate::approval::http`]; the handlers
//! here receive requests only after that guard has checked Host, Origin, authentication and the
//! content type. Each module is one concern: [`auth`] (one-time codes and session cookies),
//! [`ui`] (the built dashboard, with its security headers), [`rules`] (database rules and the
//! dry run), [`overview`] (servers and tools, call statistics), [`settings`] (the settings in
//! effect, changed from the dashboard), [`install`] (protecting the MCP clients'
//! configurations).

pub mod auth;
pub mod install;
pub mod listen;
pub mod overview;
pub mod rules;
pub mod settings;
pub mod ui;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The first checks of every local listener, before anything else is read: `Host` is a
/// loopback name with this `port` (a page on a rebound DNS name is refused), and `Origin`, when
/// sent, is this listener's own.
pub(crate) fn check_local_request(
    headers: &axum::http::HeaderMap,
    port: u16,
) -> Result<(), (StatusCode, &'static str)> {
    use axum::http::header;
    let own = [format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}")];
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    if !own.iter().any(|n| n.eq_ignore_ascii_case(host)) {
        return Err((StatusCode::FORBIDDEN, "MCP Firewall answers only to its loopback address"));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let ok = origin
            .to_str()
            .ok()
            .and_then(|o| o.strip_prefix("http://"))
            .is_some_and(|o| own.iter().any(|n| n.eq_ignore_ascii_case(o)));
        if !ok {
            return Err((StatusCode::FORBIDDEN, "requests from other origins are refused"));
        }
    }
    Ok(())
}

/// Whether a request's body is declared `application/json` (no page can send that cross-site
/// without a CORS preflight, which is never answered).
pub(crate) fn is_json(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// A JSON error answer: `{"error": message}` with `status`.
pub fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

/// 32 random bytes as hex: login codes and session ids.
pub(crate) fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    // Without randomness nothing secret can be issued: an empty string never matches anything
    // (see `auth`), so sign-in fails instead of handing out a guessable value.
    if getrandom::fill(&mut bytes).is_err() {
        return String::new();
    }
    hex::encode(bytes)
}
