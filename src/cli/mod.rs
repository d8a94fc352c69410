//! The `mcpfw` command line: argument definitions and one module per command.
//!
//! `src/main.rs` only parses and dispatches; each command lives here so its behaviour is in the
//! library, next to what it drives.

pub mod advisories;
pub mod approve;
pub mod dashboard;
pub mod install;
pub mod log;
pub mod org;
pub mod policy;
pub mod proxy;
pub mod rules;
pub mod sandbox;
pub mod scan;
pub mod tools;
pub mod unit;
pub mod wrap;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::pipeline::Limits;

#[derive(Parser)]
#[command(
    name = "mcpfw",
    version,
    about = "MCP Firewall: inspect, decide and record every MCP message",
    after_help = "Files live in the platform's usual folders; set MCPFW_HOME to move all of them (see `mcpfw paths`)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run an MCP server over stdio behind the firewall.
    ///
    /// Put `mcpfw wrap --name NAME --` in front of the server command in your MCP client's config.
    /// The `--` may be left out (or dropped by a client's argument parser): the server command
    /// starts at the first word that is not one of wrap's options.
    #[command(arg_required_else_help = true)]
    Wrap(WrapArgs),
    /// Show the history of decisions (newest first; with --follow oldest first, then new events
    /// as they come), or verify that it was not tampered with.
    Log(LogArgs),
    /// List, add, remove and try out rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Audit MCP servers offline: start each, list what it offers, report findings and pins.
    ///
    /// Without arguments, every server of every known client's configuration is scanned.
    /// Exit status: 0 nothing found, 1 something needs your attention, 2 a server could not
    /// be scanned.
    Scan {
        /// Scan the servers of this client (claude-desktop, claude-code, cursor, vscode, windsurf,
        /// gemini, codex, zed, cline, roo-code, lm-studio, continue, goose, junie, warp); repeatable.
        #[arg(long = "client", value_name = "NAME")]
        clients: Vec<String>,
        /// One JSON report per server, one per line.
        #[arg(long)]
        json: bool,
        /// Seconds a server has to answer.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
        /// Scan this remote server (Streamable HTTP) instead; `https://`, or `http://` to this
        /// machine. An address of MCP Firewall's proxy is scanned at the server behind it.
        #[arg(long, value_name = "URL", conflicts_with = "command")]
        url: Option<String>,
        /// A header sent to the server given with --url, as `Name: value` (e.g.
        /// `Authorization: Bearer …`); repeatable.
        #[arg(long = "header", value_name = "HEADER", requires = "url")]
        headers: Vec<String>,
        /// The name a server given with --url or after `--` is known by (its pins).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Scan this server command instead.
        #[arg(last = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// The tools each server described, their pins, and changed tools waiting for review.
    #[command(subcommand)]
    Tools(ToolsCommand),
    /// Known advisories for npm and PyPI packages, kept offline (OSV records).
    #[command(subcommand)]
    Advisories(AdvisoriesCommand),
    /// Check policy.toml.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// HTTP MCP servers behind the daemon's loopback proxy (`/s/NAME/mcp`).
    #[command(subcommand)]
    Proxy(ProxyCommand),
    /// Run the approval daemon: calls that need approval wait here for `mcpfw approve`/`deny`.
    Daemon {
        /// Seconds a call waits for a decision before it is refused, for this run (default:
        /// `approval_timeout_s` in policy.toml, else 120); changing the timeout on the
        /// dashboard replaces it.
        #[arg(long)]
        timeout: Option<u64>,
        /// Port of the loopback HTTP API (0: any free port; the address goes to `api.json` in
        /// the runtime folder).
        #[arg(long, default_value_t = 0)]
        http_port: u16,
        /// Do not announce waiting calls with desktop notifications (until they are turned on
        /// on the dashboard).
        #[arg(long)]
        no_notify: bool,
        /// The built dashboard served at the API's address (default: `ui` next to the program,
        /// else `ui/dist` in the source tree).
        #[arg(long, env = "MCPFW_UI_DIR", value_name = "DIR")]
        ui_dir: Option<PathBuf>,
        /// Write a systemd user unit that runs `mcpfw daemon` at login
        /// (`~/.config/systemd/user/mcpfw.service`) and exit.
        #[arg(long)]
        install_unit: bool,
    },
    /// Open the dashboard of the running daemon in the browser (signed in with a one-time link).
    Dashboard {
        /// Print the sign-in link (valid once, for 60 s) instead of opening a browser.
        #[arg(long)]
        print: bool,
    },
    /// List the calls waiting for approval.
    Pending {
        #[arg(long)]
        json: bool,
    },
    /// Approve a waiting call.
    Approve {
        id: u64,
        /// once: this call; session: identical calls until this server's session ends; hour:
        /// identical calls for an hour; always: identical calls from now on (also a rule in the
        /// database).
        #[arg(long, default_value = "once")]
        scope: String,
        /// The second step for deletes, network sends and configuration changes: the first
        /// `approve` shows the exact effect, this confirms it (at least a second later).
        #[arg(long)]
        confirm: bool,
    },
    /// Refuse a waiting call.
    Deny {
        id: u64,
        /// once: this call; session: identical calls until this server's session ends, refused
        /// without asking; hour: the same for an hour; always: from now on (a rule in the
        /// database).
        #[arg(long, default_value = "once")]
        scope: String,
        /// The same as `--scope always`.
        #[arg(long, conflicts_with = "scope")]
        always: bool,
    },
    /// Pause protection, or say whether it is paused.
    ///
    /// While paused, calls that would wait for your approval run without asking; each is still
    /// recorded (decided by `paused`). Refusals by rules, guards and detectors stay in force,
    /// and calls already waiting keep waiting. A pause ends when its time is up, with `mcpfw
    /// resume`, or when MCP Firewall stops.
    Pause {
        /// How long: minutes (`15`, `15m`) or hours (`1h`), at most a day; or `until-resume`.
        /// Without it, says whether protection is paused.
        duration: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// End a pause: calls that need approval wait for it again.
    Resume,
    /// Route every MCP server of the clients on this machine through MCP Firewall.
    ///
    /// Each stdio entry of the clients `mcpfw status` lists becomes
    /// `mcpfw wrap --name NAME -- <its command>`; each HTTP entry is pointed at its route in the
    /// daemon's HTTP proxy, with the client's token header. Nothing else in the files changes.
    /// The original bytes are backed up first, and `mcpfw uninstall` puts them back.
    Install(InstallArgs),
    /// Put back every entry `mcpfw install` rewrote (entries edited since are left alone).
    Uninstall {
        /// Only this client (all, claude-desktop, claude-code, cursor, vscode, windsurf,
        /// gemini, codex, zed, cline, roo-code, lm-studio, continue, goose, junie, warp); repeatable.
        #[arg(long = "client", value_name = "NAME")]
        clients: Vec<String>,
        /// Print what would change (a unified diff) and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Every MCP server of the clients on this machine and whether it is protected.
    Status {
        /// Only this client (repeatable).
        #[arg(long = "client", value_name = "NAME")]
        clients: Vec<String>,
        /// The project whose `.mcp.json`, `.cursor/mcp.json` and `.vscode/mcp.json` count
        /// (default: the current folder).
        #[arg(long, value_name = "DIR")]
        project: Option<PathBuf>,
        /// One JSON array of entries.
        #[arg(long)]
        json: bool,
    },
    /// The organisation policy: a signed bundle every machine enforces as a floor under its own
    /// policy (docs/teams.md).
    #[command(subcommand)]
    Org(OrgCommand),
    /// Print the folders and files this instance uses (all move under $MCPFW_HOME when it is set).
    Paths,
    /// The box each wrapped server runs in (Linux): what it may read and write, what is hidden,
    /// its network, and which protections this machine could not give.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
}

#[derive(Subcommand)]
pub enum SandboxCommand {
    /// Each server's effective box at its last start (one server with NAME).
    Show {
        name: Option<String>,
        /// One JSON object per server.
        #[arg(long)]
        json: bool,
    },
    /// Let a server's box read (and execute) or write a path, from the server's next start.
    ///
    /// Adds the path to `read` or `write` under `[servers.NAME.sandbox]` in policy.toml (the
    /// rest of the file is kept as it is). A running server's box cannot be widened: the grant
    /// takes effect when the server next starts. MCP Firewall's own folders are never granted;
    /// a sensitive location the box hides (`~/.ssh`, `~/.aws`, browser profiles, …) only with
    /// `--force`.
    #[command(group = clap::ArgGroup::new("access").required(true).args(["read", "write"]))]
    Allow {
        /// The server's name (as in `mcpfw wrap --name NAME`).
        name: String,
        /// A folder or file the server may read and execute.
        #[arg(long, value_name = "PATH")]
        read: Option<PathBuf>,
        /// A folder or file the server may read and write.
        #[arg(long, value_name = "PATH")]
        write: Option<PathBuf>,
        /// Grant a sensitive location the box would otherwise hide from the server.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Args)]
pub struct WrapArgs {
    /// The name this server is recorded under and that rules match (default: its package or program name).
    #[arg(long)]
    pub name: Option<String>,
    /// A folder the server's path arguments must stay in (repeatable). Roots also come from
    /// policy.toml, from the client's `roots/list`, and from existing folders among the server's
    /// arguments (unless `infer_roots = false`).
    #[arg(long = "root", value_name = "DIR")]
    pub roots: Vec<PathBuf>,
    /// The largest message relayed in either direction, in bytes.
    #[arg(long, env = "MCPFW_MAX_MESSAGE_BYTES", default_value_t = Limits::default().max_message_bytes)]
    pub max_message_bytes: usize,
    /// Milliseconds the server gets to exit after its input closes, and again after SIGTERM.
    #[arg(long, default_value_t = 2000)]
    pub shutdown_grace_ms: u64,
    /// Bridge to an HTTP MCP server at this URL instead of starting a command (for clients that
    /// speak only stdio); `https://`, or `http://` to this machine.
    #[arg(long, value_name = "URL", conflicts_with = "command")]
    pub url: Option<String>,
    /// The server command and its arguments. The first word that is not one of the options
    /// above starts it, and every word after it is the server's, options included; `--` before
    /// it is optional (some clients' argument parsers drop it).
    #[arg(
        trailing_var_arg = true,
        num_args = 1..,
        required_unless_present = "url",
        value_name = "COMMAND"
    )]
    pub command: Vec<OsString>,
}

#[derive(Subcommand)]
pub enum ProxyCommand {
    /// Put an HTTP MCP server behind the proxy; prints the loopback URL and the token header a
    /// client uses instead of the server's URL.
    Add {
        name: String,
        url: String,
        /// The client the token is for (each client gets its own).
        #[arg(long, default_value = "cli")]
        client: String,
        /// The server speaks the legacy HTTP+SSE transport (2024-11-05); URL is its event
        /// stream (e.g. `…/sse`).
        #[arg(long)]
        sse: bool,
    },
    /// The servers behind the proxy and their loopback URLs.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Take a server off the proxy.
    Remove { name: String },
}

#[derive(Args)]
pub struct InstallArgs {
    /// Only this client (all, claude-desktop, claude-code, cursor, vscode, windsurf, gemini,
    /// codex, zed, cline, roo-code, lm-studio, continue, goose, junie, warp); repeatable. Default: all.
    #[arg(long = "client", value_name = "NAME")]
    pub clients: Vec<String>,
    /// The project whose `.mcp.json`, `.cursor/mcp.json` and `.vscode/mcp.json` are included
    /// (default: the current folder).
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Print what would change (a unified diff per file) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also pin each unpinned package spec to the version in use (`npx -y pkg` →
    /// `npx -y pkg@1.2.3`, `uvx pkg` → `uvx pkg@1.2.3`), as npm's and uv's records on this
    /// machine say; undone by `mcpfw uninstall`.
    #[arg(long)]
    pub pin: bool,
}

#[derive(Args)]
pub struct LogArgs {
    /// One JSON object per line (schema in docs/history.md).
    #[arg(long)]
    pub json: bool,
    /// Keep printing new events as they are recorded.
    #[arg(long, short)]
    pub follow: bool,
    #[arg(long)]
    pub server: Option<String>,
    #[arg(long)]
    pub tool: Option<String>,
    /// allow, deny, reject or drop.
    #[arg(long)]
    pub verdict: Option<String>,
    /// read, write, delete, network-send, config-change, exec or unknown.
    #[arg(long)]
    pub category: Option<String>,
    /// Only events since this long ago (`90s`, `15m`, `2h`, `7d`) or since a time (`2026-11-24T10:00:00Z`).
    #[arg(long)]
    pub since: Option<String>,
    /// At most this many events, the newest (0: all).
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Include every message, not only tool calls, refusals and findings.
    #[arg(long, short)]
    pub all: bool,
    /// Verify the history's hash chain instead of printing it.
    #[arg(long, conflicts_with_all = ["follow", "json"])]
    pub verify: bool,
    /// With --verify: check every machine's chain in this PostgreSQL database instead of the
    /// local history (see docs/teams.md).
    #[arg(long, requires = "verify", value_name = "URL")]
    pub postgres: Option<String>,
}

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Every rule, from policy.toml and from the database.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add a rule to the database (policy.toml rules are edited in the file).
    Add(RuleArgs),
    /// Remove a database rule by its number (`db:N` in `rules list`).
    Remove { id: i64 },
    /// Show how a tool call would be decided, without running it.
    Test {
        #[arg(long)]
        server: String,
        #[arg(long)]
        tool: String,
        /// The call's arguments as JSON.
        #[arg(long, default_value = "{}")]
        args: String,
        /// Roots of the server for this test (repeatable).
        #[arg(long = "root", value_name = "DIR")]
        roots: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum OrgCommand {
    /// The version in force, its source, key, validity, when it was fetched and the last error.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Fetch the organisation policy now (the last good one stays if this fails).
    Refresh,
    /// Check a bundle before publishing it: its syntax and rules, and with `--key` its
    /// signature (FILE.minisig).
    Check {
        file: PathBuf,
        /// The organisation's minisign public key (`RW…`).
        #[arg(long)]
        key: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum AdvisoriesCommand {
    /// Import OSV records: a zip of OSV JSON (OSV's per-ecosystem `all.zip` exports), a folder
    /// of `.json` records, or one JSON file (a record or an array of records); from a path or
    /// an https:// address (downloaded first, at most 1 GiB).
    Update {
        #[arg(long, value_name = "FILE|URL")]
        from: String,
    },
    /// How many records are kept, from where, and how old they are.
    Status {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum ToolsCommand {
    /// Every pinned tool and its status (trusted, changed: withheld until reviewed, blocked).
    List {
        /// Only this server's tools.
        #[arg(long)]
        server: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// What changed in a withheld tool's definition since it was trusted.
    Diff { server: String, tool: String },
    /// Trust a changed tool's new definition (or, with --package, the server's changed
    /// package): it is passed to the client again.
    Trust {
        server: String,
        /// The tool (not with --package).
        #[arg(required_unless_present = "package", conflicts_with = "package")]
        tool: Option<String>,
        /// Trust the package the server runs now (`mcpfw tools package` shows the change).
        #[arg(long)]
        package: bool,
        /// The digest `mcpfw tools diff` (or `tools package`) showed (refused if it has changed
        /// again since).
        #[arg(long)]
        digest: Option<String>,
    },
    /// Keep a changed tool (or, with --package, every tool of a server whose package changed)
    /// withheld.
    Block {
        server: String,
        #[arg(required_unless_present = "package", conflicts_with = "package")]
        tool: Option<String>,
        #[arg(long)]
        package: bool,
        #[arg(long)]
        digest: Option<String>,
    },
    /// The package each server runs, as pinned, and any change waiting for review.
    Package {
        /// Only this server.
        server: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct RuleArgs {
    /// allow, ask or deny.
    #[arg(long)]
    pub action: String,
    /// Server name pattern (glob).
    #[arg(long, default_value = "*")]
    pub server: String,
    /// Tool name pattern (glob).
    #[arg(long, default_value = "*")]
    pub tool: String,
    /// Categories the rule applies to (repeatable; default: any).
    #[arg(long = "category")]
    pub categories: Vec<String>,
    /// `NAME=REGEX`: the named argument must match (repeatable).
    #[arg(long = "arg", value_name = "NAME=REGEX")]
    pub args: Vec<String>,
    /// Every path argument must be inside this folder (`@roots` for the server's roots; repeatable).
    #[arg(long = "path-within", value_name = "DIR")]
    pub paths_within: Vec<String>,
    /// Every host the call talks to must match (glob; repeatable).
    #[arg(long = "host")]
    pub hosts: Vec<String>,
    /// Built-in guards this allow rule lifts (repeatable): outside-roots, sensitive-path,
    /// persistence-path, secrets, egress, rate, unresolvable-path, traversal,
    /// smuggled-credential, persistence-payload, shell-injection.
    #[arg(long = "lift")]
    pub lift: Vec<String>,
    /// Shown to the user when the rule decides.
    #[arg(long)]
    pub reason: Option<String>,
    /// Remove the rule after this long (`1h`, `7d`).
    #[arg(long)]
    pub expires: Option<String>,
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Check policy.toml and report the first problem with its line and column.
    Check {
        /// Check this file instead of the active policy.toml.
        #[arg(long)]
        file: Option<PathBuf>,
    },
}
