//! `mcpfw log`: the decision history, for people (a table) and programs (`--json`).

use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use super::LogArgs;
use crate::paths::Paths;
use crate::store::{self, EventFilter, Store, StoredEvent};

/// Parses `--since`: a duration back from now (`15m`, `2h`, `7d`) or a timestamp.
pub fn parse_since(text: &str, now_ms: u64) -> Result<u64> {
    if let Ok(d) = humantime::parse_duration(text) {
        return Ok(now_ms.saturating_sub(d.as_millis() as u64));
    }
    let time = humantime::parse_rfc3339_weak(text).with_context(|| {
        format!("`{text}` is neither a duration (15m, 2h, 7d) nor a time (2026-11-24T10:00:00Z)")
    })?;
    Ok(time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64))
}

fn human(e: &StoredEvent) -> String {
    let what = match (&e.method, &e.tool) {
        (Some(m), Some(t)) if m == "tools/call" => t.clone(),
        (Some(m), _) => m.clone(),
        (None, _) => e.kind.as_str().to_owned(),
    };
    let mut line = format!(
        "{}  {:<14} {:<28} {:<13} {:<6}",
        mcpfw_store::wire::rfc3339(e.ts_ms),
        truncate(&e.server, 14),
        truncate(&what, 28),
        e.category.map_or("-", |c| c.as_str()),
        e.verdict.as_str()
    );
    if let Some(by) = &e.decided_by {
        line.push_str(&format!(" {by}"));
    }
    if let Some(reason) = &e.reason {
        line.push_str(&format!("  {reason}"));
    }
    line
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        text.chars().take(max - 1).chain(['…']).collect()
    }
}

pub fn run(paths: &Paths, args: LogArgs) -> Result<i32> {
    if let Some(url) = &args.postgres {
        return verify_postgres(url);
    }
    let db = store::db_path(paths);
    if !db.exists() {
        if args.verify {
            println!("no history yet ({} does not exist)", db.display());
            return Ok(0);
        }
        if !args.follow {
            eprintln!("no history yet: nothing has been recorded in {}", db.display());
            return Ok(0);
        }
    }
    let (key, _) = store::load_or_create_chain_key(paths)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let store =
            Store::open(&db, key).await.with_context(|| format!("cannot open {}", db.display()))?;
        if args.verify {
            let report = store.verify().await?;
            return Ok(if report.ok {
                println!("history intact: {} events verified", report.checked);
                0
            } else {
                println!(
                    "history TAMPERED: {} ({} events checked)",
                    report.problem.as_deref().unwrap_or("the hash chain does not verify"),
                    report.checked
                );
                1
            });
        }
        let now = crate::record::now_ms();
        let mut filter = EventFilter {
            server: args.server.clone(),
            tool: args.tool.clone(),
            verdict: args.verdict.clone(),
            category: args.category.clone(),
            since_ms: args.since.as_deref().map(|s| parse_since(s, now)).transpose()?,
            limit: args.limit,
            ..EventFilter::default()
        };
        if !args.all {
            filter.decisions_only = true;
        }
        if let Some(verdict) = &filter.verdict
            && !["allow", "deny", "reject", "drop", "ask"].contains(&verdict.as_str())
        {
            bail!("unknown verdict `{verdict}`: use allow, deny, ask, reject or drop");
        }
        // Newest first, like the history a person scrolls; with --follow, a tail: oldest first,
        // so that new events continue below.
        let mut events = store.query(&filter).await?;
        let mut last_seq = events.iter().map(|e| e.seq).max();
        if args.follow {
            events.reverse();
        }
        for e in &events {
            print_event(e, args.json);
        }
        if !args.follow {
            return Ok(0);
        }
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let mut f = filter.clone();
            f.after_seq = last_seq;
            f.since_ms = filter.since_ms;
            f.ascending = true;
            f.limit = 1000;
            for e in store.query(&f).await? {
                print_event(&e, args.json);
                last_seq = Some(e.seq);
            }
        }
    })
}

fn print_event(e: &StoredEvent, as_json: bool) {
    use std::io::Write;
    let line = if as_json { mcpfw_store::wire::event_json(e).to_string() } else { human(e) };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// `mcpfw log --verify --postgres URL`: every machine's chain in PostgreSQL.
fn verify_postgres(url: &str) -> Result<i32> {
    use mcpfw_store::postgres::{Target, verify};
    let target = Target::parse(url)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let report = runtime.block_on(verify(&target))?;
    if report.chains.is_empty() && report.orphans.is_empty() {
        println!("{}: no replicated history", target.label());
        return Ok(0);
    }
    for chain in &report.chains {
        let who = format!(
            "{} (machine {}, key {}, history {})",
            chain.hostname, chain.machine_id, chain.key_fingerprint, chain.history
        );
        if chain.problems.is_empty() {
            println!("{who}: intact, {} events verified", chain.checked);
        } else {
            println!("{who}: TAMPERED ({} events checked)", chain.checked);
            for problem in &chain.problems {
                println!("  {problem}");
            }
        }
    }
    for orphan in &report.orphans {
        println!("TAMPERED: {orphan}");
    }
    Ok(if report.ok() { 0 } else { 1 })
}
