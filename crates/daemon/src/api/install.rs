//! Protecting the clients from the dashboard: `GET /api/v1/install` (every client's servers and
//! their protection, as `mcpfw status --json`), `POST /api/v1/install` and
//! `POST /api/v1/uninstall` with `{"clients": [...], "dry_run": bool}` (what `mcpfw install` and
//! `mcpfw uninstall` do, with a unified diff per file).

use std::path::PathBuf;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;
use serde_json::json;

use super::refuse;
use crate::clients::Places;
use crate::install::{self, InstallError};
use crate::paths::Paths;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    /// Client names, or none (or `all`) for every client.
    #[serde(default)]
    clients: Vec<String>,
    #[serde(default)]
    dry_run: bool,
}

/// `GET /api/v1/install`.
pub async fn status(paths: Arc<Paths>) -> Response {
    let answer = tokio::task::spawn_blocking(move || -> Result<serde_json::Value, InstallError> {
        let places = Places::from_env(None)?;
        let (entries, errors) = install::status(&paths, &places, &install::select_clients(&[])?)?;
        Ok(json!({"entries": entries, "errors": errors}))
    })
    .await;
    match answer {
        Ok(Ok(value)) => Json(value).into_response(),
        Ok(Err(e)) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &crate::text::error_chain(&e)),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// `POST /api/v1/install` (or `/uninstall`).
pub async fn run(paths: Arc<Paths>, body: &[u8], uninstall: bool) -> Response {
    let request: Request = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("invalid request: {e}")),
    };
    let selected = match install::select_clients(&request.clients) {
        Ok(selected) => selected,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &crate::text::error_chain(&e)),
    };
    let dry_run = request.dry_run;
    let answer = tokio::task::spawn_blocking(move || -> Result<install::Outcome, FirewallError> {
        if uninstall {
            return Ok(install::uninstall(
                &paths,
                &selected,
                dry_run,
                Some(&install::remote::ProxyRegistry(&paths)),
            )?);
        }
        let places = Places::from_env(None).map_err(InstallError::from)?;
        let firewall = firewall_program()?;
        Ok(install::Install {
            paths: &paths,
            places: &places,
            clients: &selected,
            firewall: &firewall,
            dry_run,
            router: Some(&install::remote::ProxyRegistry(&paths)),
            pin: None,
        }
        .run()?)
    })
    .await;
    let outcome = match answer {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) => {
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, &crate::text::error_chain(&e));
        }
        Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let files: Vec<serde_json::Value> = outcome
        .files
        .iter()
        .map(|f| {
            json!({
                "client": f.client,
                "file": f.file,
                "notes": f.notes,
                "changed": f.changed(),
                "diff": f.diff(),
                "backup": f.backup,
            })
        })
        .collect();
    Json(json!({"dry_run": dry_run, "files": files, "errors": outcome.errors})).into_response()
}

/// The `mcpfw` program the clients should start: this program when it is `mcpfw` (the
/// daemon), else the `mcpfw` next to it (the desktop app).
/// Why the dashboard cannot install: install's own reasons, or no `mcpfw` to install.
#[derive(Debug, thiserror::Error)]
enum FirewallError {
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error(
        "the mcpfw program is not next to {}; install it there, or run `mcpfw install`",
        next_to.display()
    )]
    NotNextTo { next_to: PathBuf },
}

fn firewall_program() -> Result<PathBuf, FirewallError> {
    let exe = install::current_firewall()?;
    if crate::clients::is_firewall(&exe.to_string_lossy()) {
        return Ok(exe);
    }
    let sibling = exe.with_file_name(if cfg!(windows) { "mcpfw.exe" } else { "mcpfw" });
    sibling.is_file().then_some(sibling).ok_or(FirewallError::NotNextTo { next_to: exe })
}
