//! The proxy's own refusals of HTTP requests (a JSON body naming the reason), shared by the
//! Streamable HTTP listener and the legacy transport.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub(crate) fn refuse(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(json!({"error": message}))).into_response()
}
