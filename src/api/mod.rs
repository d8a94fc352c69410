//! What the daemon's loopback HTTP API offers beyond approvals: browser sign-in, the dashboard's
//! pages, rules, servers, statistics and settings.
//!
//! The router and the guard every request passes are in [`crate::approval::http`]; the handlers
//! here receive requests only after that guard has checked Host, Origin, authentication and the
//! content type. Each module is one concern: [`auth`] (one-time codes and session cookies),
//! [`ui`] (the built dashboard, with its security headers), [`rules`] (database rules and the
//! dry run), [`overview`] (servers and tools, call statistics, settings), [`install`] (protecting
//! the MCP clients' configurations).

pub mod auth;
pub mod install;
pub mod overview;
pub mod rules;
pub mod ui;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

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
