//! What the daemon's loopback HTTP API offers beyond approvals: browser sign-in, the dashboard's
//! pages, rules, servers, statistics and settings.
//!
//! The router and the guard every request passes are in [`router`]; the handlers
//! here receive requests only after that guard has checked Host, Origin, authentication and the
//! content type. Each module is one concern: [`auth`] (one-time codes and session cookies),
//! [`ui`] (the built dashboard, with its security headers), [`rules`] (database rules and the
//! dry run), [`overview`] (servers and tools, call statistics), [`settings`] (the settings in
//! effect, changed from the dashboard), [`install`] (protecting the MCP clients'
//! configurations).

pub mod auth;
pub mod install;
pub mod overview;
pub mod router;
pub mod rules;
pub mod settings;
pub mod ui;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub(crate) use crate::listen::{check_local_request, is_json};

/// A JSON error answer: `{"error": message}` with `status`.
pub fn refuse(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

pub(crate) use crate::approval::token::random_hex;
