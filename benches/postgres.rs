//! The fleet history's benchmark: `cargo bench --bench postgres`.
//!
//! Measures what one PostgreSQL server takes from many machines, on a real PostgreSQL
//! (Debian's, a scratch cluster with the server's default durability: fsync on):
//!
//! * one machine replicating its history (events per second, each row signed by the machine);
//! * several machines replicating at once, each with its own connection pool and thread, as
//!   separate machines would (events per second, all together; target ≥ 2,000/s);
//! * verifying every machine's chain in PostgreSQL (`mcpfw log --verify --postgres`);
//! * the space one event takes in PostgreSQL (table and indexes).
//!
//! From these it derives how many machines one such server serves (docs/teams.md, "How it
//! scales"), at a stated load per machine.
//!
//! Environment: `MCPFW_BENCH_QUICK=1` (fewer events), `MCPFW_BENCH_ENFORCE=1` (exit 1 when a
//! target is missed), `MCPFW_BENCH_SLACK=<factor>` (lower bounds divided by it). Without
//! PostgreSQL's binaries it says SKIPPED, unless `MCPFW_TEST_REQUIRE_POSTGRES` is set (then it
//! fails). The report is printed and written to `$CARGO_TARGET_DIR/mcpfw-bench-postgres.md`.

#[path = "support/events.rs"]
mod events;
#[path = "support/knobs.rs"]
mod knobs;
#[path = "../tests/common/pg_cluster.rs"]
mod pg_cluster;

use std::path::{Path, PathBuf};
use std::time::Instant;

use events::event;
use mcpfw::store::machine::Machine;
use mcpfw::store::postgres::{self, Target};
use mcpfw::store::{ChainKey, Store};
use pg_cluster::Cluster;

/// The load the capacity figures assume for one machine: a person who works with agents all
/// day (docs/teams.md explains the figure).
const EVENTS_PER_MACHINE_PER_DAY: f64 = 5_000.0;
/// Of a day's events, the share that falls in its busiest hour.
const BUSIEST_HOUR_SHARE: f64 = 0.2;
const AGGREGATE_TARGET: f64 = 2_000.0;

struct Config {
    enforce: bool,
    slack: f64,
    machines: usize,
    events: u64,
}

impl Config {
    fn from_env() -> Self {
        let quick = knobs::flag("MCPFW_BENCH_QUICK");
        Self {
            enforce: knobs::flag("MCPFW_BENCH_ENFORCE"),
            slack: knobs::slack(),
            machines: if quick { 4 } else { 8 },
            events: if quick { 10_000 } else { 40_000 },
        }
    }
}

/// One machine: its own folder, identity and SQLite history of `events` events.
struct Fleet {
    _dir: tempfile::TempDir,
    machines: Vec<PathBuf>,
}

fn key(n: usize) -> ChainKey {
    ChainKey::from_bytes([n as u8 + 1; 32])
}

fn db(machine: &Path) -> PathBuf {
    machine.join("mcpfw.db")
}

fn fill(runtime: &tokio::runtime::Runtime, config: &Config) -> anyhow::Result<Fleet> {
    let dir = tempfile::tempdir()?;
    let base = mcpfw::record::now_ms();
    let mut machines = Vec::new();
    for n in 0..config.machines {
        let folder = dir.path().join(format!("machine-{n}"));
        std::fs::create_dir_all(&folder)?;
        Machine::load_or_create(&folder)?;
        let store = runtime.block_on(Store::open(&db(&folder), key(n)))?;
        let events: Vec<_> = (0..config.events).map(|i| event(i, base + i)).collect();
        for batch in events.chunks(512) {
            runtime.block_on(store.append(batch))?;
        }
        runtime.block_on(store.close());
        machines.push(folder);
    }
    Ok(Fleet { _dir: dir, machines })
}

/// Replicates one machine's whole history; returns the rows sent.
fn replicate(folder: &Path, n: usize, target: &Target) -> anyhow::Result<u64> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let store = Store::open(&db(folder), key(n)).await?;
        let machine = Machine::load_or_create(folder)?;
        let sent = postgres::replicate_once(&store, &machine, target).await?;
        store.close().await;
        anyhow::Ok(sent)
    })
}

struct Row {
    metric: String,
    value: String,
    target: String,
    missed: bool,
}

fn main() -> anyhow::Result<()> {
    let config = Config::from_env();
    let Some(cluster) = Cluster::start_with(true) else {
        return Ok(());
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let started = Instant::now();
    let fleet = fill(&runtime, &config)?;
    let target = Target::parse(&cluster.url())?;
    let mut rows = Vec::new();

    // 1. One machine alone.
    let t = Instant::now();
    let sent = replicate(&fleet.machines[0], 0, &target)?;
    anyhow::ensure!(sent == config.events, "machine 0 sent {sent} of {} events", config.events);
    let alone = sent as f64 / t.elapsed().as_secs_f64();
    rows.push(Row {
        metric: format!("one machine replicating {} events", config.events),
        value: format!("{alone:.0} events/s"),
        target: "—".into(),
        missed: false,
    });

    // 2. The others at once.
    let others = &fleet.machines[1..];
    let t = Instant::now();
    let sent: u64 = std::thread::scope(|scope| {
        let handles: Vec<_> = others
            .iter()
            .enumerate()
            .map(|(i, folder)| {
                let target = &target;
                scope.spawn(move || replicate(folder, i + 1, target))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a replicator panicked")).sum::<Result<_, _>>()
    })?;
    anyhow::ensure!(sent == config.events * others.len() as u64, "the fleet sent {sent} events");
    let together = sent as f64 / t.elapsed().as_secs_f64();
    let bound = AGGREGATE_TARGET / config.slack;
    rows.push(Row {
        metric: format!("{} machines at once, {} events each", others.len(), config.events),
        value: format!("{together:.0} events/s"),
        target: format!("≥ {AGGREGATE_TARGET:.0} events/s"),
        missed: together < bound,
    });

    // 3. Verifying every chain.
    let t = Instant::now();
    let report = runtime.block_on(postgres::verify(&target))?;
    anyhow::ensure!(report.ok(), "the fleet's chains do not verify: {report:?}");
    let checked: u64 = report.chains.iter().map(|c| c.checked).sum();
    anyhow::ensure!(checked == config.events * config.machines as u64, "verified {checked} rows");
    let verified = checked as f64 / t.elapsed().as_secs_f64();
    rows.push(Row {
        metric: format!("verify {} chains, {checked} rows", report.chains.len()),
        value: format!("{verified:.0} rows/s"),
        target: "—".into(),
        missed: false,
    });

    // 4. Space per event.
    let bytes: i64 = cluster.query(|c| {
        Box::pin(async move {
            sqlx::query_scalar("SELECT pg_total_relation_size('mcpfw_events')").fetch_one(c).await
        })
    });
    let per_event = bytes as f64 / checked as f64;
    rows.push(Row {
        metric: "space per event (table and indexes)".into(),
        value: format!("{per_event:.0} bytes"),
        target: "—".into(),
        missed: false,
    });

    // What it means for a fleet.
    let peak_per_machine = EVENTS_PER_MACHINE_PER_DAY * BUSIEST_HOUR_SHARE / 3600.0;
    let machines_served = together / peak_per_machine;
    let per_thousand_day = EVENTS_PER_MACHINE_PER_DAY * 1000.0;
    rows.push(Row {
        metric: format!(
            "machines one such server keeps up with ({EVENTS_PER_MACHINE_PER_DAY:.0} events a \
             day each, {:.0} % of them in the busiest hour)",
            BUSIEST_HOUR_SHARE * 100.0
        ),
        value: format!("{machines_served:.0}"),
        target: "—".into(),
        missed: false,
    });
    rows.push(Row {
        metric: "1,000 machines: busiest-hour write rate, and space per day".into(),
        value: format!(
            "{:.0} events/s, {:.1} GB/day",
            peak_per_machine * 1000.0,
            per_thousand_day * per_event / 1e9
        ),
        target: "—".into(),
        missed: false,
    });

    let mut report = String::from("| measure | value | target |\n|---|---|---|\n");
    for row in &rows {
        let mark = if row.missed { " **MISSED**" } else { "" };
        report.push_str(&format!("| {} | {}{mark} | {} |\n", row.metric, row.value, row.target));
    }
    report.push_str(&format!(
        "\nPostgreSQL {} (fsync on) and every replicator (one thread and connection pool per \
         machine) on this one machine; {:.0} s in all.\n",
        server_version(&cluster),
        started.elapsed().as_secs_f64()
    ));
    print!("{report}");
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        std::fs::write(Path::new(&dir).join("mcpfw-bench-postgres.md"), &report)?;
    }
    drop(cluster);
    if config.enforce && rows.iter().any(|r| r.missed) {
        eprintln!("postgres bench: a target was missed");
        std::process::exit(1);
    }
    Ok(())
}

fn server_version(cluster: &Cluster) -> String {
    cluster.query(|c| {
        Box::pin(async move {
            sqlx::query_scalar::<_, String>("SHOW server_version").fetch_one(c).await
        })
    })
}
