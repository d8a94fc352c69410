//! Where the program's own diagnostics and the record stage's events go.
//!
//! stdout belongs to the MCP protocol in `mcpfw wrap`, so nothing is ever logged there. Events and
//! diagnostics go as JSON lines to `<logs>/mcpfw.jsonl` (filter: `MCPFW_LOG`, default `info`);
//! warnings also go to stderr, which MCP clients keep in their server logs.

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, fmt};

use crate::paths::{Paths, PathsError};

/// Why logging cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// The logs folder cannot be created.
    #[error(transparent)]
    Folder(#[from] PathsError),
    /// A global subscriber is installed already.
    #[error(transparent)]
    AlreadySet(#[from] tracing_subscriber::util::TryInitError),
}

/// The log file's name inside the logs folder.
pub const LOG_FILE: &str = "mcpfw.jsonl";

/// Installs the global subscriber. Keep the guard alive until exit: dropping it flushes the file.
pub fn init(paths: &Paths) -> Result<WorkerGuard, LoggingError> {
    Paths::ensure(&paths.logs)?;
    let file = tracing_appender::rolling::never(&paths.logs, LOG_FILE);
    // A small queue: only warnings and lifecycle lines are written by default, and a large
    // pre-allocated queue costs start-up time and memory in every shim.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(1024)
        .finish(file);
    let file_filter =
        EnvFilter::try_from_env("MCPFW_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let file_layer = fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_writer(writer)
        .with_filter(file_filter);
    let stderr_layer = fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .with_filter(tracing_subscriber::filter::LevelFilter::WARN);
    tracing_subscriber::registry().with(file_layer).with(stderr_layer).try_init()?;
    Ok(guard)
}
