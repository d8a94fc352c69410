//! `mcpfw`: the MCP Firewall command line.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, Subcommand};

use mcpfw::launch;
use mcpfw::paths::Paths;
use mcpfw::pipeline::{Limits, Pipeline};
use mcpfw::policy::AllowAll;
use mcpfw::record::TracingRecorder;
use mcpfw::transport::stdio::{self, ShimOptions};

#[derive(Parser)]
#[command(
    name = "mcpfw",
    version,
    about = "MCP Firewall: inspect, decide and record every MCP message"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run an MCP server over stdio behind the firewall.
    ///
    /// Put `mcpfw wrap --name NAME --` in front of the server command in your MCP client's config.
    #[command(arg_required_else_help = true)]
    Wrap {
        /// The name this server is recorded under (default: its package or program name).
        #[arg(long)]
        name: Option<String>,
        /// The largest message relayed in either direction, in bytes.
        #[arg(long, env = "MCPFW_MAX_MESSAGE_BYTES", default_value_t = Limits::default().max_message_bytes)]
        max_message_bytes: usize,
        /// Milliseconds the server gets to exit after its input closes, and again after SIGTERM.
        #[arg(long, default_value_t = 2000)]
        shutdown_grace_ms: u64,
        /// The server command and its arguments (after `--`).
        #[arg(last = true, required = true, value_name = "COMMAND")]
        command: Vec<OsString>,
    },
    /// Print the folders this instance uses (they all move under $MCPFW_HOME when it is set).
    Paths,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(error) => {
            eprintln!("mcpfw: {error:#}");
            ExitCode::from(error_exit_code(&error))
        }
    }
}

fn error_exit_code(error: &anyhow::Error) -> u8 {
    if error.downcast_ref::<launch::NotFound>().is_some() {
        127
    } else {
        1
    }
}

fn run(cli: Cli) -> Result<i32> {
    let paths = Paths::from_env()?;
    match cli.command {
        Command::Wrap {
            name,
            max_message_bytes,
            shutdown_grace_ms,
            command,
        } => {
            let _log = mcpfw::logging::init(&paths)?;
            let home = std::env::var_os("HOME").map(PathBuf::from);
            let resolved = launch::resolve(
                &command,
                std::env::var_os("PATH").as_deref(),
                home.as_deref(),
            )?;
            let name = name.unwrap_or_else(|| launch::default_server_name(&command));
            let pipeline = Arc::new(Pipeline::new(
                name,
                Box::new(AllowAll),
                Box::new(TracingRecorder),
                Limits { max_message_bytes },
            ));
            let options = ShimOptions {
                grace: Duration::from_millis(shutdown_grace_ms),
            };
            stdio::run(pipeline, &resolved, &options)
        }
        Command::Paths => {
            println!("config  {}", paths.config.display());
            println!("data    {}", paths.data.display());
            println!("logs    {}", paths.logs.display());
            println!("runtime {}", paths.runtime.display());
            Ok(0)
        }
    }
}
