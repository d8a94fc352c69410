//! The decision history's benchmark: `cargo bench --bench store`.
//!
//! Measures, on a real SQLite file in a temporary folder:
//!
//! * events per second through [`Store::append`] in batches of 512 (target ≥ 20,000/s);
//! * events per second through [`StoreRecorder`] (`record` × N, then `flush`; same target);
//! * the latency of `record_durable` (what a refused call waits for; no target);
//! * `verify` speed (no target);
//! * a filtered query (server + verdict + since, newest first, limit 100) over 1,000,000 events
//!   (target ≤ 50 ms, the slowest of 20 runs), plus a few other shapes for information. The
//!   1M-row database is filled once, directly in SQL (its hashes are random: only queries run
//!   on it).
//!
//! Environment:
//!
//! * `MCPFW_BENCH_QUICK=1`: smaller sizes (100,000 rows; well under a minute);
//! * `MCPFW_BENCH_ENFORCE=1`: exit 1 when a target is missed;
//! * `MCPFW_BENCH_SLACK=<factor>`: loosen every target by this factor (default 1): an upper
//!   bound is multiplied by it, a lower bound divided by it.
//!
//! The Markdown report is printed and written to `$CARGO_TARGET_DIR/mcpfw-bench-store.md`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[path = "support/events.rs"]
mod events;
#[path = "support/knobs.rs"]
mod knobs;

use events::event;
use mcpfw::record::{Event, Recorder};
use mcpfw::store::{ChainKey, EventFilter, Store, StoreRecorder};

const BATCH: usize = 512;

struct Config {
    quick: bool,
    enforce: bool,
    slack: f64,
    append_events: usize,
    recorder_events: usize,
    durable_calls: usize,
    query_rows: u64,
}

impl Config {
    fn from_env() -> Self {
        let quick = knobs::flag("MCPFW_BENCH_QUICK");
        let pick = |quick_n, full_n| if quick { quick_n } else { full_n };
        Self {
            quick,
            enforce: knobs::flag("MCPFW_BENCH_ENFORCE"),
            slack: knobs::slack(),
            append_events: pick(40 * BATCH, 200 * BATCH),
            recorder_events: pick(20_000, 100_000),
            durable_calls: pick(200, 1000),
            query_rows: if quick { 100_000 } else { 1_000_000 },
        }
    }
}

/// A bound a measurement is held to.
#[derive(Clone, Copy)]
enum Target {
    AtLeast(f64),
    AtMost(f64),
}

impl Target {
    fn passes(self, value: f64, slack: f64) -> bool {
        match self {
            Target::AtLeast(limit) => value * slack >= limit,
            Target::AtMost(limit) => value <= limit * slack,
        }
    }
}

struct Row {
    metric: String,
    value: String,
    target: &'static str,
    check: Option<(f64, Target)>,
}

fn key() -> ChainKey {
    ChainKey::from_bytes([7; 32])
}

fn main() -> anyhow::Result<()> {
    let config = Config::from_env();
    let started = Instant::now();
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut rows = Vec::new();

    // 1. append, batches of 512.
    let db = dir.path().join("append.db");
    let store = runtime.block_on(Store::open(&db, key()))?;
    let base = mcpfw::record::now_ms();
    let events: Vec<Event> = (0..config.append_events as u64).map(|i| event(i, base + i)).collect();
    let t = Instant::now();
    for batch in events.chunks(BATCH) {
        runtime.block_on(store.append(batch))?;
    }
    let rate = config.append_events as f64 / t.elapsed().as_secs_f64();
    rows.push(Row {
        metric: format!("append, batches of {BATCH} ({} events)", config.append_events),
        value: format!("{rate:.0} events/s"),
        target: "≥ 20,000 events/s",
        check: Some((rate, Target::AtLeast(20_000.0))),
    });

    // 2. verify, on what was just written.
    let t = Instant::now();
    let report = runtime.block_on(store.verify())?;
    anyhow::ensure!(report.ok, "the benchmark's chain does not verify: {report:?}");
    let rate = report.checked as f64 / t.elapsed().as_secs_f64();
    rows.push(Row {
        metric: format!("verify ({} rows)", report.checked),
        value: format!("{rate:.0} rows/s"),
        target: "—",
        check: None,
    });
    runtime.block_on(store.close());

    // 3. StoreRecorder: record × N, then flush.
    let db = dir.path().join("recorder.db");
    let recorder = StoreRecorder::start(&db, key())?;
    let events: Vec<Event> =
        (0..config.recorder_events as u64).map(|i| event(i, base + i)).collect();
    let t = Instant::now();
    for event in events {
        recorder.record(event);
    }
    let queued = t.elapsed();
    recorder.flush();
    let rate = config.recorder_events as f64 / t.elapsed().as_secs_f64();
    rows.push(Row {
        metric: format!(
            "StoreRecorder, record + flush ({} events; queueing took {:.1} ms)",
            config.recorder_events,
            queued.as_secs_f64() * 1e3
        ),
        value: format!("{rate:.0} events/s"),
        target: "≥ 20,000 events/s",
        check: Some((rate, Target::AtLeast(20_000.0))),
    });

    // 4. record_durable latency, with the database already holding events.
    let mut latencies = Vec::with_capacity(config.durable_calls);
    for i in 0..config.durable_calls as u64 {
        let t = Instant::now();
        recorder.record_durable(event(i, base + i)).map_err(|e| anyhow::anyhow!("{e}"))?;
        latencies.push(t.elapsed());
    }
    drop(recorder);
    latencies.sort();
    rows.push(Row {
        metric: format!("record_durable latency p50 / p99 ({} calls)", config.durable_calls),
        value: format!(
            "{} / {}",
            ms(percentile(&latencies, 0.50)),
            ms(percentile(&latencies, 0.99))
        ),
        target: "—",
        check: None,
    });

    // 5. Queries over a large history.
    let db = dir.path().join("query.db");
    let t = Instant::now();
    let now = runtime.block_on(fill(&db, config.query_rows))?;
    let fill_time = t.elapsed();
    let store = runtime.block_on(Store::open(&db, key()))?;
    let day = 86_400_000;
    let n = config.query_rows;
    let target_query = EventFilter {
        server: Some("server-3".into()),
        verdict: Some("deny".into()),
        since_ms: Some(now - day),
        limit: 100,
        ..Default::default()
    };
    let (worst, median, count) = time_query(&runtime, &store, &target_query)?;
    rows.push(Row {
        metric: format!(
            "query server + verdict + since 1 day, limit 100, over {n} rows ({count} returned; \
             median {})",
            ms(median)
        ),
        value: format!("{} (slowest of 20)", ms(worst)),
        target: "≤ 50 ms",
        check: Some((worst.as_secs_f64() * 1e3, Target::AtMost(50.0))),
    });
    let others = [
        ("query newest 100, no filter", EventFilter::default()),
        (
            "query server + verdict + since 1 hour (fewer matches than the limit)",
            EventFilter {
                server: Some("server-3".into()),
                verdict: Some("deny".into()),
                since_ms: Some(now - day / 24),
                ..Default::default()
            },
        ),
        (
            "query since 1 minute, no other filter (fewer matches than the limit)",
            EventFilter { since_ms: Some(now - 60_000), ..Default::default() },
        ),
        (
            "query a 1-hour window a week ago, no other filter",
            EventFilter {
                since_ms: Some(now - 7 * day),
                until_ms: Some(now - 7 * day + day / 24),
                ..Default::default()
            },
        ),
        (
            "query server only, limit 100",
            EventFilter { server: Some("server-7".into()), ..Default::default() },
        ),
        (
            "query rare verdict (drop) + server, limit 100",
            EventFilter {
                server: Some("server-1".into()),
                verdict: Some("drop".into()),
                ..Default::default()
            },
        ),
        (
            "query tool + since 7 days, limit 100",
            EventFilter {
                tool: Some("tool-5".into()),
                since_ms: Some(now - 7 * day),
                ..Default::default()
            },
        ),
        (
            "query text in arguments (full scan), limit 100",
            EventFilter { text: Some("file_12345.rs".into()), ..Default::default() },
        ),
    ];
    for (name, filter) in others {
        let (worst, median, count) = time_query(&runtime, &store, &filter)?;
        rows.push(Row {
            metric: format!("{name} ({count} returned)"),
            value: format!("{} median, {} slowest", ms(median), ms(worst)),
            target: "—",
            check: None,
        });
    }
    runtime.block_on(store.close());

    let report = render(&config, &rows, started.elapsed(), fill_time, n);
    print!("{report}");
    write_report(&report);
    let failed = rows.iter().any(|row| row.check.is_some_and(|(v, t)| !t.passes(v, config.slack)));
    if config.enforce && failed {
        eprintln!("store bench: a target was missed (slack ×{})", config.slack);
        std::process::exit(1);
    }
    Ok(())
}

/// Runs `filter` once to warm up, then 20 times: (slowest, median, rows returned).
fn time_query(
    runtime: &tokio::runtime::Runtime,
    store: &Store,
    filter: &EventFilter,
) -> anyhow::Result<(Duration, Duration, usize)> {
    let count = runtime.block_on(store.query(filter))?.len();
    let mut times = Vec::with_capacity(20);
    for _ in 0..20 {
        let t = Instant::now();
        let found = runtime.block_on(store.query(filter))?;
        times.push(t.elapsed());
        anyhow::ensure!(found.len() == count, "the query's result changed");
    }
    times.sort();
    Ok((times[19], times[10], count))
}

/// Creates the schema through `Store::open`, then fills `rows` events over the last 30 days in
/// one SQL statement (10 servers, 37 tools, 80 % allow / 10 % deny / 5 % ask / 3 % reject /
/// 2 % drop, at random). Returns the timestamp of the newest row.
async fn fill(db: &Path, rows: u64) -> anyhow::Result<u64> {
    Store::open(db, key()).await?.close().await;
    let now = mcpfw::record::now_ms();
    let span: u64 = 30 * 86_400_000;
    let step = span / rows;
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}",
        db.display()
    ))
    .await?;
    sqlx::query(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?1),
         r(x, v) AS MATERIALIZED (SELECT x, abs(random()) % 100 FROM c)
         INSERT INTO events (seq, ts_ms, server, session, direction, kind, method, rpc_id, tool,
             category, era, protocol_version, verdict, decided_by, reason, latency_us, cancels,
             args_digest, args_redacted, result_status, findings, bytes, hash)
         SELECT x, ?2 + x * ?3, 'server-' || (x % 10), 'session-' || (x / 1000),
             CASE x % 2 WHEN 0 THEN 'client_to_server' ELSE 'server_to_client' END,
             CASE x % 2 WHEN 0 THEN 'request' ELSE 'result' END,
             'tools/call', CAST(x AS TEXT), 'tool-' || (x % 37),
             CASE x % 5 WHEN 0 THEN 'read' WHEN 1 THEN 'write' WHEN 2 THEN 'delete'
                 WHEN 3 THEN 'network-send' ELSE 'exec' END,
             'handshake', '2025-06-18',
             CASE WHEN v < 80 THEN 'allow' WHEN v < 90 THEN 'deny' WHEN v < 95 THEN 'ask'
                 WHEN v < 98 THEN 'reject' ELSE 'drop' END,
             CASE WHEN v < 80 THEN 'default' WHEN v < 90 THEN 'rule:db:' || (x % 20)
                 ELSE 'guard:egress' END,
             CASE WHEN v >= 80 THEN 'blocked by policy' END,
             CASE x % 2 WHEN 1 THEN 850 END, NULL,
             printf('%064x', x), '{\"path\":\"/home/user/project/src/file_' || x || '.rs\"}',
             CASE x % 2 WHEN 1 THEN 'ok' END, '[]', 200 + x % 5000, randomblob(32)
         FROM r",
    )
    .bind(rows as i64)
    .bind((now - span) as i64)
    .bind(step as i64)
    .execute(&mut conn)
    .await?;
    sqlx::Connection::close(conn).await?;
    Ok(now - span + rows * step)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn render(config: &Config, rows: &[Row], total: Duration, fill: Duration, n: u64) -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mode = if config.quick { "quick" } else { "full" };
    let mut out = format!(
        "\n### mcpfw store benchmark ({mode} run, {cores} cores, {:.1} s, slack ×{})\n\n",
        total.as_secs_f64(),
        config.slack
    );
    out.push_str("| metric | value | target | pass? |\n|---|---:|---|---|\n");
    for row in rows {
        let pass = match row.check {
            Some((value, target)) if target.passes(value, config.slack) => "pass",
            Some(_) => "**FAIL**",
            None => "—",
        };
        out.push_str(&format!("| {} | {} | {} | {pass} |\n", row.metric, row.value, row.target));
    }
    out.push_str(&format!(
        "\nbulk fill of the {n}-row query database (one SQL statement, 7 indexes): {:.1} s\n",
        fill.as_secs_f64()
    ));
    out
}

fn write_report(report: &str) {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"));
    let path = dir.join("mcpfw-bench-store.md");
    if let Err(e) = std::fs::write(&path, report) {
        eprintln!("cannot write {}: {e}", path.display());
    }
}
