//! `mcpfw daemon`, `mcpfw pending`, `mcpfw approve`, `mcpfw deny`.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::approval::{self, Pending, Scope, client};
use crate::daemon;
use crate::paths::Paths;
use crate::store::{self, Store};

pub fn run_daemon(
    paths: &Paths,
    timeout: Option<u64>,
    http_port: u16,
    notify: bool,
    ui_dir: Option<std::path::PathBuf>,
) -> Result<i32> {
    let timeout = timeout.map(|secs| Duration::from_secs(secs.max(1)));
    let ui_dir = ui_dir.unwrap_or_else(crate::api::ui::default_ui_dir);
    Ok(daemon::run(paths, daemon::Options { timeout, http_port, notify, ui_dir, autostart: None })?)
}

fn token(paths: &Paths) -> Result<String> {
    approval::token::read(paths)?
        .map(|(token, _)| token)
        .context("MCP Firewall is not running (it creates the approver token when it starts); start it with `mcpfw daemon`")
}

pub fn pending(paths: &Paths, as_json: bool) -> Result<i32> {
    let calls = client::list(&approval::socket_path(paths), &token(paths)?)?;
    if calls.is_empty() && !as_json {
        println!("nothing is waiting for approval");
    }
    for call in &calls {
        if as_json {
            println!("{}", serde_json::to_string(call)?);
        } else {
            println!(
                "{:>4}  {} · {} · {}  (waiting {} s, refused in {} s)\n      {}",
                call.id,
                call.request.server,
                call.request.tool,
                call.request.category,
                call.waiting_ms / 1000,
                call.expires_in_ms / 1000,
                call.request.reason
            );
            for line in &call.request.preview {
                println!("      {line}");
            }
            if let Some(args) = &call.request.arguments {
                println!("      arguments: {args}");
            }
            if let Some(fact) = &call.request.confirm {
                println!("      two steps to approve: {fact}");
            }
        }
    }
    Ok(0)
}

fn parse_scope(scope: &str) -> Result<Scope> {
    Ok(match scope {
        "once" => Scope::Once,
        "hour" => Scope::Hour,
        "always" => Scope::Always,
        "session" => Scope::Session,
        other => bail!("unknown scope `{other}`: use once, session, hour or always"),
    })
}

pub fn approve(paths: &Paths, id: u64, scope: &str, confirm: bool) -> Result<i32> {
    decide(paths, id, true, parse_scope(scope)?, confirm)
}

/// Refuses call `id`; for a scope longer than once, identical calls are refused without
/// asking for as long.
pub fn deny(paths: &Paths, id: u64, scope: &str) -> Result<i32> {
    decide(paths, id, false, parse_scope(scope)?, false)
}

fn decide(paths: &Paths, id: u64, allow: bool, scope: Scope, confirm: bool) -> Result<i32> {
    let socket = approval::socket_path(paths);
    let token = token(paths)?;
    let call = client::list(&socket, &token)?
        .into_iter()
        .find(|c| c.id == id)
        .with_context(|| format!("no call {id} is waiting (see `mcpfw pending`)"))?;
    match client::decide(&socket, &token, id, allow, scope, confirm)? {
        client::DecideOutcome::Confirm { fact, armed_in_ms } => {
            println!("{} · {} — {}", call.request.server, call.request.tool, call.request.reason);
            for line in &call.request.preview {
                println!("    {line}");
            }
            let scope_flag = match scope {
                Scope::Once => String::new(),
                Scope::Session => " --scope session".into(),
                Scope::Hour => " --scope hour".into(),
                Scope::Always => " --scope always".into(),
            };
            println!(
                "\nStep 2 of 2. {fact}\nTo confirm, run `mcpfw approve {id}{scope_flag} --confirm` (accepted from {:.1} s from now).",
                armed_in_ms as f64 / 1000.0
            );
            return Ok(0);
        }
        client::DecideOutcome::Done => {}
    }
    if matches!(scope, Scope::Hour | Scope::Always) {
        add_rule(paths, &call, allow, scope)?;
    }
    let verb = if allow { "approved" } else { "refused" };
    let how = match scope {
        Scope::Once => "this call",
        Scope::Session => "identical calls in this session",
        Scope::Hour => "identical calls for an hour",
        Scope::Always => "identical calls from now on",
    };
    println!("{verb} {how}: {} · {}", call.request.server, call.request.tool);
    Ok(0)
}

/// The rule for exactly this call ([`approval::decision_rule`]), in the history database.
fn add_rule(paths: &Paths, call: &Pending, allow: bool, scope: Scope) -> Result<()> {
    let Some((spec, expires)) = approval::decision_rule(&call.request, allow, scope) else {
        bail!("call {} has no argument digest; approve it once instead", call.id);
    };
    let (key, _) = store::load_or_create_chain_key(paths)?;
    let db = store::db_path(paths);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let id = runtime.block_on(async {
        let store = Store::open(&db, key).await?;
        let rule = serde_json::to_string(&spec)?;
        anyhow::Ok(store.add_rule(&rule, "approval", expires).await?)
    })?;
    tracing::info!(rule = id, spec = %json!(spec), "rule created by an approval");
    Ok(())
}

/// A pause's length from the command line: `15`, `15m`, `90min`, `2h`, or `until-resume`
/// (`None`).
pub fn pause_minutes(text: &str) -> Result<Option<u64>> {
    let t = text.trim().to_ascii_lowercase();
    if t == "until-resume" {
        return Ok(None);
    }
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits.parse().map_err(|_| {
        anyhow::anyhow!(
            "cannot read the pause length {text:?}: give minutes (15m), hours (1h) or until-resume"
        )
    })?;
    let minutes = match unit.trim() {
        "" | "m" | "min" | "mins" | "minute" | "minutes" => n,
        "h" | "hour" | "hours" => n.saturating_mul(60),
        other => bail!(
            "cannot read the pause length {text:?}: unknown unit {other:?}; use m (minutes) or h (hours)"
        ),
    };
    if !(1..=approval::MAX_PAUSE_MINUTES).contains(&minutes) {
        bail!("a pause lasts 1 minute to 24 hours (or until-resume), not {text}");
    }
    Ok(Some(minutes))
}

/// How a pause reads on the command line.
fn describe_pause(pause: Option<approval::PauseState>) -> String {
    match pause {
        None => "protection is on: calls that need approval wait for it".into(),
        Some(approval::PauseState { until_ms: None, .. }) => {
            "PROTECTION IS PAUSED until you resume it (`mcpfw resume`): calls that would ask run without asking".into()
        }
        Some(approval::PauseState { until_ms: Some(until), .. }) => {
            let left = until.saturating_sub(crate::record::now_ms()).div_ceil(60_000);
            format!(
                "PROTECTION IS PAUSED for {left} more minute{}: calls that would ask run without asking (`mcpfw resume` ends it)",
                if left == 1 { "" } else { "s" }
            )
        }
    }
}

pub fn pause(paths: &Paths, duration: Option<&str>, as_json: bool) -> Result<i32> {
    let token = token(paths)?;
    let message = match duration {
        None => approval::ToDaemon::PauseStatus { token },
        Some(text) => approval::ToDaemon::Pause { token, minutes: pause_minutes(text)? },
    };
    let pause = client::pause_request(&approval::socket_path(paths), &message)?;
    if as_json {
        println!("{}", json!({ "paused": pause.is_some(), "pause": pause }));
    } else {
        println!("{}", describe_pause(pause));
    }
    Ok(0)
}

pub fn resume(paths: &Paths) -> Result<i32> {
    let pause = client::pause_request(
        &approval::socket_path(paths),
        &approval::ToDaemon::Resume { token: token(paths)? },
    )?;
    println!("{}", describe_pause(pause));
    Ok(0)
}

#[cfg(test)]
mod pause_tests {
    use super::pause_minutes;

    #[test]
    fn pause_lengths_read_as_a_person_writes_them() {
        assert_eq!(pause_minutes("15").unwrap(), Some(15));
        assert_eq!(pause_minutes("15m").unwrap(), Some(15));
        assert_eq!(pause_minutes("90 min").unwrap(), Some(90));
        assert_eq!(pause_minutes("2h").unwrap(), Some(120));
        assert_eq!(pause_minutes("until-resume").unwrap(), None);
        for bad in ["", "0", "25h", "1d", "soon", "-5m"] {
            assert!(pause_minutes(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
