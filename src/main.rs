//! `mcpfw`: the MCP Firewall command line. Parsing and dispatch only; see `mcpfw::cli`.

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use mcpfw::cli::{Cli, Command, OrgCommand, PolicyCommand, SandboxCommand};
use mcpfw::paths::Paths;

fn main() -> ExitCode {
    // The box's launcher (started by `mcpfw wrap`) runs before anything can start a thread.
    #[cfg(target_os = "linux")]
    if std::env::args_os().nth(1).is_some_and(|a| a == mcpfw::contain::LAUNCHER_COMMAND) {
        let code = mcpfw::contain::launcher::main(std::env::args_os().skip(2).collect());
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let argv: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if let Some(problem) = mcpfw::cli::wrap::misplaced_words(&argv) {
        eprintln!("mcpfw wrap: {problem}");
        return ExitCode::from(2);
    }
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
    if error.downcast_ref::<mcpfw::launch::NotFound>().is_some() { 127 } else { 1 }
}

fn run(cli: Cli) -> Result<i32> {
    let paths = Paths::from_env()?;
    match cli.command {
        Command::Wrap(args) => {
            // Keep the guard until the shim returns: dropping it flushes the log.
            let _log = mcpfw::logging::init(&paths)?;
            mcpfw::cli::wrap::run(&paths, args)
        }
        Command::Log(args) => mcpfw::cli::log::run(&paths, args),
        Command::Rules(command) => mcpfw::cli::rules::run(&paths, command),
        Command::Tools(command) => mcpfw::cli::tools::run(&paths, command),
        Command::Advisories(command) => mcpfw::cli::advisories::run(&paths, command),
        Command::Scan { clients, json, timeout, url, headers, name, command } => {
            let args =
                mcpfw::cli::scan::Args { clients, json, timeout, url, headers, name, command };
            mcpfw::cli::scan::run(&paths, args)
        }
        Command::Policy(PolicyCommand::Check { file }) => mcpfw::cli::policy::check(&paths, file),
        Command::Daemon { install_unit: true, .. } => mcpfw::cli::unit::install_unit(),
        Command::Daemon { timeout, http_port, no_notify, ui_dir, install_unit: false } => {
            let _log = mcpfw::logging::init(&paths)?;
            mcpfw::cli::approve::run_daemon(&paths, timeout, http_port, !no_notify, ui_dir)
        }
        Command::Proxy(command) => mcpfw::cli::proxy::run(&paths, command),
        Command::Dashboard { print } => mcpfw::cli::dashboard::run(&paths, print),
        Command::Pending { json } => mcpfw::cli::approve::pending(&paths, json),
        Command::Approve { id, scope, confirm } => {
            mcpfw::cli::approve::approve(&paths, id, &scope, confirm)
        }
        Command::Deny { id, scope, always } => {
            mcpfw::cli::approve::deny(&paths, id, if always { "always" } else { &scope })
        }
        Command::Pause { duration, json } => {
            mcpfw::cli::approve::pause(&paths, duration.as_deref(), json)
        }
        Command::Resume => mcpfw::cli::approve::resume(&paths),
        Command::Install(args) => mcpfw::cli::install::install(&paths, args),
        Command::Uninstall { clients, dry_run } => {
            mcpfw::cli::install::uninstall(&paths, &clients, dry_run)
        }
        Command::Status { clients, project, json } => {
            mcpfw::cli::install::status(&paths, &clients, project.as_deref(), json)
        }
        Command::Sandbox(SandboxCommand::Show { name, json }) => {
            mcpfw::cli::sandbox::show(&paths, name.as_deref(), json)
        }
        Command::Sandbox(SandboxCommand::Allow { name, read, write, force }) => {
            mcpfw::cli::sandbox::allow(&paths, &name, read.as_deref(), write.as_deref(), force)
        }
        Command::Org(OrgCommand::Status { json }) => mcpfw::cli::org::status(&paths, json),
        Command::Org(OrgCommand::Refresh) => mcpfw::cli::org::refresh(&paths),
        Command::Org(OrgCommand::Check { file, key }) => mcpfw::cli::org::check(&file, key),
        Command::Paths => {
            println!("config   {}", paths.config.display());
            println!("policy   {}", mcpfw::cli::policy::policy_path(&paths).display());
            println!("data     {}", paths.data.display());
            println!("history  {}", mcpfw::store::db_path(&paths).display());
            println!("logs     {}", paths.logs.display());
            println!("runtime  {}", paths.runtime.display());
            Ok(0)
        }
    }
}
