//! `cargo bench --bench relay`: what `mcpfw wrap` costs compared with a direct pipe.
//!
//! The same minimal MCP server is reached two ways, side by side in one run:
//!
//! * **direct**: the client talks to the server's stdin/stdout itself;
//! * **firewall**: the client talks to `mcpfw wrap -- <server>`, which relays every line through
//!   its inspect/decide/record pipeline.
//!
//! The server is this very binary, re-executed with `RELAY_BENCH_ROLE=echo-server` (not an
//! `MCPFW_*` name: the shim strips those from the server's environment). It is std-only, blocking
//! and deterministic, so the difference between the two routes is the shim's overhead.
//!
//! The machine this runs on may be small and noisy, so every workload runs on both routes in the
//! same process, interleaved (ABBA order), and the report leads with ratios and added time.
//!
//! Environment:
//! * `MCPFW_BENCH_QUICK=1`: smaller sample counts (for CI, well under 30 s);
//! * `MCPFW_BENCH_ENFORCE=1`: exit 1 when a measurement exceeds its target × slack;
//! * `MCPFW_BENCH_SLACK=<factor>`: that slack (default 1.0);
//! * anything else (e.g. `MCPFW_LOG=warn`) reaches the shim unchanged.
//!
//! Memory is measured as the peak resident set (`VmHWM`) of real processes: one shim under
//! 1 MiB results, twenty shims relaying at once (summed), and an idle `mcpfw daemon`. Memory is
//! deterministic enough that its targets are held with at most ×1.5 slack, whatever
//! `MCPFW_BENCH_SLACK` says.
//!
//! The Markdown report is printed and written to `$CARGO_TARGET_DIR/mcpfw-bench.md`.
// It measures Linux processes (/proc, signals): elsewhere it is an empty program that is
// never linked (it is checked with `--all-targets`, not built).
#![cfg_attr(not(unix), no_main)]
#![cfg(unix)]

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The variable that turns this binary into the echo server.
const ROLE_ENV: &str = "RELAY_BENCH_ROLE";
/// Its value for the echo server.
const ECHO_SERVER: &str = "echo-server";
/// The size of one large result.
const BLOB_BYTES: usize = 1024 * 1024;
/// The protocol version both sides use in the handshake.
const PROTOCOL_VERSION: &str = "2025-06-18";

fn main() {
    if std::env::var_os(ROLE_ENV).as_deref() == Some(OsStr::new(ECHO_SERVER)) {
        if let Err(e) = echo_server::run() {
            eprintln!("relay bench server: {e}");
            std::process::exit(1);
        }
        return;
    }
    let config = Config::from_env();
    let bench = Bench::new().expect("cannot prepare the benchmark");
    let code = bench_and_report(&config, &bench);
    drop(bench); // removes the temporary MCPFW_HOME, which `exit` would leave behind
    std::process::exit(code);
}

/// Runs every measurement, prints and writes the report; returns the process exit code.
fn bench_and_report(config: &Config, bench: &Bench) -> i32 {
    let started = Instant::now();
    let results = run_all(config, bench);
    bench.report_stderr();
    let results = match results {
        Ok(results) => results,
        Err(e) => {
            eprintln!("relay bench failed: {e}");
            return 2;
        }
    };
    let report = render(config, &results, started.elapsed());
    print!("{report}");
    write_report(&report);
    if config.enforce && results.failed(config.slack) {
        eprintln!("relay bench: a target was missed (slack ×{})", config.slack);
        return 1;
    }
    0
}

// ---------------------------------------------------------------------------------------------
// Configuration

/// Sample counts and enforcement, from the environment.
struct Config {
    quick: bool,
    /// Measured round trips per route (after a warm-up).
    round_trips: usize,
    /// Messages per pipelined throughput round.
    messages: usize,
    /// Throughput rounds per route; the median round is reported.
    throughput_rounds: usize,
    /// 1 MiB results per route.
    blobs: usize,
    /// Spawns per route for the start-up measurement.
    startups: usize,
    /// Shims (each with its server) relaying at once for the memory measurement.
    shims: usize,
    /// 1 MiB results each of them relays.
    shim_blobs: usize,
    enforce: bool,
    slack: f64,
}

impl Config {
    fn from_env() -> Self {
        let flag = |name| std::env::var(name).is_ok_and(|v| v == "1" || v == "true");
        let quick = flag("MCPFW_BENCH_QUICK");
        let slack = std::env::var("MCPFW_BENCH_SLACK")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|s| *s > 0.0)
            .unwrap_or(1.0);
        let pick = |quick_n, full_n| if quick { quick_n } else { full_n };
        Self {
            quick,
            round_trips: pick(2_000, 50_000),
            messages: pick(20_000, 100_000),
            throughput_rounds: pick(3, 5),
            blobs: pick(20, 100),
            startups: pick(5, 31),
            shims: 20,
            shim_blobs: pick(5, 20),
            enforce: flag("MCPFW_BENCH_ENFORCE"),
            slack,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Processes

/// How the client reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    Direct,
    Firewall,
    /// The firewall with the server's box turned off (`mode = "off"`): the box's own cost.
    Unboxed,
}

/// What every spawn needs: the two executables and a private `MCPFW_HOME`.
struct Bench {
    server: PathBuf,
    mcpfw: PathBuf,
    home: tempfile::TempDir,
    /// A home whose policy turns the bench server's box off.
    unboxed_home: tempfile::TempDir,
}

impl Bench {
    fn new() -> io::Result<Self> {
        let unboxed_home = tempfile::Builder::new().prefix("mcpfw-bench-unboxed-").tempdir()?;
        let config = mcpfw::paths::Paths::under(unboxed_home.path()).config;
        std::fs::create_dir_all(&config)?;
        std::fs::write(config.join("policy.toml"), "[servers.bench.sandbox]\nmode = \"off\"\n")?;
        Ok(Self {
            server: std::env::current_exe()?,
            mcpfw: PathBuf::from(env!("CARGO_BIN_EXE_mcpfw")),
            home: tempfile::Builder::new().prefix("mcpfw-bench-").tempdir()?,
            unboxed_home,
        })
    }

    /// Where the children's stderr goes (the shim's warnings and the server's complaints).
    fn stderr_path(&self) -> PathBuf {
        self.home.path().join("stderr.log")
    }

    fn command(&self, route: Route) -> io::Result<Command> {
        let mut cmd = match route {
            Route::Direct => Command::new(&self.server),
            Route::Firewall | Route::Unboxed => {
                let home = if route == Route::Unboxed { &self.unboxed_home } else { &self.home };
                let mut cmd = Command::new(&self.mcpfw);
                cmd.args(["wrap", "--name", "bench", "--"])
                    .arg(&self.server)
                    .env("MCPFW_HOME", home.path());
                cmd
            }
        };
        let stderr = File::options().create(true).append(true).open(self.stderr_path())?;
        cmd.env(ROLE_ENV, ECHO_SERVER).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(stderr);
        Ok(cmd)
    }

    /// The size of the shim's record log so far.
    fn log_bytes(&self) -> u64 {
        let log = mcpfw::paths::Paths::under(self.home.path()).logs.join(mcpfw::logging::LOG_FILE);
        std::fs::metadata(log).map_or(0, |m| m.len())
    }

    /// Prints a summary of whatever the children wrote to stderr, if anything.
    fn report_stderr(&self) {
        let text = std::fs::read_to_string(self.stderr_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        if lines.is_empty() {
            return;
        }
        eprintln!("relay bench: the children wrote {} stderr lines, e.g.:", lines.len());
        for line in lines.iter().take(5) {
            eprintln!("  {line}");
        }
    }
}

/// One running route: the process and the client's ends of its pipes.
struct Peer {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    line: Vec<u8>,
    request: Vec<u8>,
    next_id: u64,
}

impl Peer {
    /// Spawns the route's process without talking to it yet.
    fn spawn(bench: &Bench, route: Route) -> io::Result<Self> {
        let mut child = bench.command(route)?.spawn()?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        Ok(Self {
            child,
            stdin,
            stdout: BufReader::with_capacity(64 * 1024, stdout),
            line: Vec::with_capacity(4096),
            request: Vec::with_capacity(256),
            next_id: 0,
        })
    }

    /// Spawns the route and completes the MCP handshake.
    fn start(bench: &Bench, route: Route) -> io::Result<Self> {
        let mut peer = Self::spawn(bench, route)?;
        peer.initialize()?;
        peer.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")?;
        Ok(peer)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let stdin = self.stdin.as_mut().expect("stdin is open until finish()");
        stdin.write_all(bytes)
    }

    /// Sends `initialize` and waits for its result.
    fn initialize(&mut self) -> io::Result<()> {
        self.round_trip(|out, id| {
            let _ = writeln!(
                out,
                "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"initialize\",\"params\":{{\
                 \"protocolVersion\":\"{PROTOCOL_VERSION}\",\"capabilities\":{{}},\
                 \"clientInfo\":{{\"name\":\"relay-bench\",\"version\":\"1\"}}}}}}"
            );
        })
        .map(drop)
    }

    /// One `tools/list` round trip; returns the response line (without its newline).
    fn list_tools(&mut self) -> io::Result<&[u8]> {
        self.round_trip(|out, id| {
            let _ = writeln!(
                out,
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/list","params":{{}}}}"#
            );
        })
    }

    /// One `tools/call` round trip; returns the response line (without its newline).
    fn call(&mut self, tool: Tool) -> io::Result<&[u8]> {
        self.round_trip(|out, id| tool.write_request(out, id))
    }

    /// Sends the request `write` puts together for the next id and reads its response.
    fn round_trip(&mut self, write: impl FnOnce(&mut Vec<u8>, u64)) -> io::Result<&[u8]> {
        self.next_id += 1;
        let id = self.next_id;
        self.request.clear();
        write(&mut self.request, id);
        self.stdin.as_mut().expect("stdin is open until finish()").write_all(&self.request)?;
        read_response(&mut self.stdout, &mut self.line, id)?;
        Ok(&self.line)
    }

    /// Closes the server's input and waits for the process to exit.
    fn finish(mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        io::copy(&mut self.stdout, &mut io::sink())?;
        self.child.wait()
    }
}

/// Reads one line into `line` (newline stripped) and checks it is the response to `id`.
fn read_response(reader: &mut impl BufRead, line: &mut Vec<u8>, id: u64) -> io::Result<()> {
    line.clear();
    if reader.read_until(b'\n', line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("the connection closed while waiting for response {id}"),
        ));
    }
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    if response_id(line) != Some(id) {
        let shown = String::from_utf8_lossy(&line[..line.len().min(200)]).into_owned();
        return Err(io::Error::other(format!("expected the response to {id}, got: {shown}")));
    }
    Ok(())
}

/// The numeric id of a response written by the echo server (`{"jsonrpc":"2.0","id":N,...`).
fn response_id(line: &[u8]) -> Option<u64> {
    let rest = line.strip_prefix(br#"{"jsonrpc":"2.0","id":"#)?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// The tools the echo server offers.
#[derive(Debug, Clone, Copy)]
enum Tool {
    /// A small request answered with a small result.
    Echo,
    /// A small request answered with a text of this many bytes.
    Blob(usize),
}

impl Tool {
    /// Appends the `tools/call` request line for this tool.
    fn write_request(self, out: &mut Vec<u8>, id: u64) {
        let _ = match self {
            Tool::Echo => writeln!(
                out,
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"ping"}}}}}}"#
            ),
            Tool::Blob(bytes) => writeln!(
                out,
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"get_blob","arguments":{{"bytes":{bytes}}}}}}}"#
            ),
        };
    }
}

/// Whether the direct route goes first in pair `i`: the order runs ABBA ABBA …, so that drift
/// in the machine's load and any first-mover effect fall on both routes alike.
fn direct_first(i: usize) -> bool {
    (i / 2 + i).is_multiple_of(2)
}

/// Runs `f` on both routes, in the order [`direct_first`] gives. Returns (direct, firewall).
fn interleaved<T>(
    i: usize,
    direct: &mut Peer,
    firewall: &mut Peer,
    mut f: impl FnMut(&mut Peer) -> io::Result<T>,
) -> io::Result<(T, T)> {
    if direct_first(i) {
        let d = f(direct)?;
        Ok((d, f(firewall)?))
    } else {
        let fw = f(firewall)?;
        Ok((f(direct)?, fw))
    }
}

// ---------------------------------------------------------------------------------------------
// Measurements

/// Everything one run measured.
struct Results {
    latency: Pair<LatencyStats>,
    /// Messages per second (median round).
    throughput: Pair<f64>,
    /// The 1 MiB round trips.
    blobs: Pair<BlobStats>,
    /// VmHWM of the shim process, in KiB, read just before it was told to exit.
    shim_peak_kib: Option<u64>,
    /// CPU time each thread of the shim used over the whole long-lived session.
    shim_threads: Vec<(String, Duration)>,
    /// Bytes the shim wrote to its record log over the long-lived session.
    log_bytes: u64,
    /// Messages the long-lived firewall session relayed (requests and responses).
    relayed: u64,
    /// Median time from spawn to the answer to `initialize`.
    startup: Pair<Duration>,
    /// The same for the firewall with the box off.
    startup_unboxed: Duration,
    /// A fresh process's first `tools/list` of the 100-tool server: the median round trip, and
    /// the median time from spawning to having it.
    first_list: Pair<Duration>,
    first_list_from_spawn: Pair<Duration>,
    /// Many shims relaying 1 MiB results at once.
    many: Option<ManyShims>,
    /// VmHWM of an idle `mcpfw daemon`, in KiB.
    daemon_idle_kib: Option<u64>,
    round_trips: usize,
    messages: usize,
    blob_count: usize,
    startups: usize,
    shim_blobs: usize,
}

/// The memory of many shims running at once.
#[derive(Debug, Clone, Copy)]
struct ManyShims {
    count: usize,
    /// The sum of their peak resident sets (VmHWM), in KiB.
    sum_hwm_kib: u64,
    /// The largest of them, in KiB.
    max_hwm_kib: u64,
    /// The sum of their proportional set sizes (shared pages divided among the processes
    /// sharing them), in KiB, read once they have been idle for a moment; `None` when a shim's
    /// could not be read (the row then fails).
    sum_pss_kib: Option<u64>,
}

/// One value per route.
#[derive(Debug, Clone, Copy)]
struct Pair<T> {
    direct: T,
    firewall: T,
}

/// The total and the median of the 1 MiB round trips of one route.
#[derive(Debug, Clone, Copy)]
struct BlobStats {
    total: Duration,
    median: Duration,
}

impl BlobStats {
    fn of(samples: &mut [Duration]) -> Self {
        samples.sort_unstable();
        Self { total: samples.iter().sum(), median: percentile(samples, 0.50) }
    }
}

#[derive(Debug, Clone, Copy)]
struct LatencyStats {
    p50: Duration,
    p99: Duration,
}

fn run_all(config: &Config, bench: &Bench) -> io::Result<Results> {
    let mut direct = Peer::start(bench, Route::Direct)?;
    let mut firewall = Peer::start(bench, Route::Firewall)?;
    check_byte_exact(&mut direct, &mut firewall)?;

    eprintln!("relay bench: round-trip latency ({} per route)", config.round_trips);
    let latency = measure_latency(&mut direct, &mut firewall, config.round_trips)?;
    eprintln!(
        "relay bench: throughput ({} rounds of {} messages per route)",
        config.throughput_rounds, config.messages
    );
    let throughput = measure_throughput(&mut direct, &mut firewall, config)?;
    eprintln!("relay bench: {} results of 1 MiB per route", config.blobs);
    let blobs = measure_blobs(&mut direct, &mut firewall, config.blobs)?;

    let shim_peak_kib = vm_hwm_kib(firewall.pid());
    let shim_threads = thread_cpu_times(firewall.pid());
    let relayed = 2 * firewall.next_id;
    expect_success("direct server", direct.finish()?)?;
    expect_success("mcpfw wrap", firewall.finish()?)?;
    // Read after the shim's exit, which flushes its log; the start-ups come later.
    let log_bytes = bench.log_bytes();

    eprintln!("relay bench: start-up ({} spawns per route)", config.startups);
    let (startup, startup_unboxed) = measure_startup(bench, config.startups)?;
    eprintln!(
        "relay bench: the first tools/list of 100 tools ({} spawns per route)",
        config.startups
    );
    let (first_list, first_list_from_spawn) = measure_first_list(bench, config.startups)?;
    eprintln!(
        "relay bench: memory of {} shims at once ({} results of 1 MiB each)",
        config.shims, config.shim_blobs
    );
    let many = measure_many(bench, config.shims, config.shim_blobs)?;
    eprintln!("relay bench: memory of an idle daemon");
    let daemon_idle_kib = measure_daemon_idle(bench)?;
    Ok(Results {
        latency,
        throughput,
        blobs,
        shim_peak_kib,
        shim_threads,
        log_bytes,
        relayed,
        startup,
        startup_unboxed,
        first_list,
        first_list_from_spawn,
        many,
        daemon_idle_kib,
        round_trips: config.round_trips,
        messages: config.messages,
        blob_count: config.blobs,
        startups: config.startups,
        shim_blobs: config.shim_blobs,
    })
}

/// The shim must relay the server's bytes unchanged: the same request gets the same line.
fn check_byte_exact(direct: &mut Peer, firewall: &mut Peer) -> io::Result<()> {
    for tool in [Tool::Echo, Tool::Blob(4096)] {
        // Both peers are at the same id, so the answers must be identical byte for byte.
        let expected = direct.call(tool)?.to_vec();
        if firewall.call(tool)? != expected.as_slice() {
            return Err(io::Error::other("the firewall changed the server's bytes"));
        }
    }
    Ok(())
}

/// Round-trip latency: one small `tools/call` in flight at a time, from writing the request to
/// having read the whole response line. Alternates routes request by request.
fn measure_latency(
    direct: &mut Peer,
    firewall: &mut Peer,
    samples: usize,
) -> io::Result<Pair<LatencyStats>> {
    let warmup = samples / 10 + 100;
    let mut times =
        Pair { direct: Vec::with_capacity(samples), firewall: Vec::with_capacity(samples) };
    for i in 0..warmup + samples {
        let (d, fw) = interleaved(i, direct, firewall, |peer| {
            let start = Instant::now();
            peer.call(Tool::Echo)?;
            Ok(start.elapsed())
        })?;
        if i >= warmup {
            times.direct.push(d);
            times.firewall.push(fw);
        }
    }
    Ok(Pair {
        direct: LatencyStats::of(&mut times.direct),
        firewall: LatencyStats::of(&mut times.firewall),
    })
}

impl LatencyStats {
    fn of(samples: &mut [Duration]) -> Self {
        samples.sort_unstable();
        Self { p50: percentile(samples, 0.50), p99: percentile(samples, 0.99) }
    }
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Throughput: a writer thread sends `messages` small requests as fast as the pipe takes them
/// while this thread reads every response. Messages per second from the first write to the last
/// response read; rounds alternate between routes and the median round counts.
fn measure_throughput(
    direct: &mut Peer,
    firewall: &mut Peer,
    config: &Config,
) -> io::Result<Pair<f64>> {
    let mut rates = Pair { direct: Vec::new(), firewall: Vec::new() };
    // A short unmeasured round warms both routes (and the shim's log file).
    interleaved(0, direct, firewall, |peer| pipelined(peer, 2_000))?;
    for round in 0..config.throughput_rounds {
        let (d, fw) =
            interleaved(round, direct, firewall, |peer| pipelined(peer, config.messages))?;
        rates.direct.push(config.messages as f64 / d.as_secs_f64());
        rates.firewall.push(config.messages as f64 / fw.as_secs_f64());
    }
    Ok(Pair { direct: median_f64(&mut rates.direct), firewall: median_f64(&mut rates.firewall) })
}

/// Sends `n` echo calls from a writer thread and reads their `n` responses, in order.
fn pipelined(peer: &mut Peer, n: usize) -> io::Result<Duration> {
    let first = peer.next_id + 1;
    peer.next_id += n as u64;
    let start = Instant::now();
    let stdin = peer.stdin.as_mut().expect("stdin is open until finish()");
    let (stdout, line) = (&mut peer.stdout, &mut peer.line);
    thread::scope(|scope| {
        let writer = scope.spawn(move || -> io::Result<()> {
            let mut out = BufWriter::with_capacity(64 * 1024, stdin);
            let mut request = Vec::with_capacity(256);
            for id in first..first + n as u64 {
                request.clear();
                Tool::Echo.write_request(&mut request, id);
                out.write_all(&request)?;
            }
            out.flush()
        });
        for id in first..first + n as u64 {
            read_response(stdout, line, id)?;
        }
        writer.join().expect("the writer thread panicked")
    })?;
    Ok(start.elapsed())
}

fn median_f64(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Large results: `count` calls, one at a time, each answered with a 1 MiB text; routes
/// alternate call by call. The total is what the target names, but one stall of the machine
/// moves a total by tens of percent, so the pass/fail check uses the median call.
fn measure_blobs(
    direct: &mut Peer,
    firewall: &mut Peer,
    count: usize,
) -> io::Result<Pair<BlobStats>> {
    let mut times = Pair { direct: Vec::with_capacity(count), firewall: Vec::with_capacity(count) };
    let warmup = 3;
    for i in 0..warmup + count {
        let (d, fw) = interleaved(i, direct, firewall, |peer| {
            let start = Instant::now();
            let len = peer.call(Tool::Blob(BLOB_BYTES))?.len();
            let elapsed = start.elapsed();
            if len < BLOB_BYTES {
                return Err(io::Error::other(format!("a blob result of only {len} bytes")));
            }
            Ok(elapsed)
        })?;
        if i >= warmup {
            times.direct.push(d);
            times.firewall.push(fw);
        }
    }
    Ok(Pair {
        direct: BlobStats::of(&mut times.direct),
        firewall: BlobStats::of(&mut times.firewall),
    })
}

/// Start-up: from spawning the command to having read the answer to `initialize` (the first
/// byte the firewall forwards comes back then). Fresh processes each time, routes alternating;
/// the median per route; then the firewall with the box off (its median).
fn measure_startup(bench: &Bench, spawns: usize) -> io::Result<(Pair<Duration>, Duration)> {
    let mut times =
        Pair { direct: Vec::with_capacity(spawns), firewall: Vec::with_capacity(spawns) };
    let mut unboxed = Vec::with_capacity(spawns);
    let once = |route| -> io::Result<Duration> {
        let start = Instant::now();
        let mut peer = Peer::spawn(bench, route)?;
        peer.initialize()?;
        let elapsed = start.elapsed();
        expect_success("start-up run", peer.finish()?)?;
        Ok(elapsed)
    };
    // One unmeasured spawn each loads the executables into the page cache.
    once(Route::Direct)?;
    once(Route::Firewall)?;
    once(Route::Unboxed)?;
    for i in 0..spawns {
        let order = if direct_first(i) {
            [Route::Direct, Route::Firewall, Route::Unboxed]
        } else {
            [Route::Unboxed, Route::Firewall, Route::Direct]
        };
        for route in order {
            let elapsed = once(route)?;
            match route {
                Route::Direct => times.direct.push(elapsed),
                Route::Firewall => times.firewall.push(elapsed),
                Route::Unboxed => unboxed.push(elapsed),
            }
        }
    }
    times.direct.sort_unstable();
    times.firewall.sort_unstable();
    unboxed.sort_unstable();
    Ok((
        Pair { direct: times.direct[spawns / 2], firewall: times.firewall[spawns / 2] },
        unboxed[spawns / 2],
    ))
}

/// A fresh process's first `tools/list` of a 100-tool server: spawn, `initialize`,
/// `notifications/initialized`, then the list, whose round trip is timed on its own (what
/// screening and pinning put in front of the answer) and from the spawn. Routes alternate; the
/// medians per route. The firewall's list must be the server's, byte for byte (nothing in the
/// fixture is withheld).
fn measure_first_list(
    bench: &Bench,
    spawns: usize,
) -> io::Result<(Pair<Duration>, Pair<Duration>)> {
    let once = |route| -> io::Result<(Duration, Duration, Vec<u8>)> {
        let start = Instant::now();
        let mut peer = Peer::spawn(bench, route)?;
        peer.initialize()?;
        peer.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")?;
        let listed = Instant::now();
        let list = peer.list_tools()?.to_vec();
        let (round_trip, from_spawn) = (listed.elapsed(), start.elapsed());
        expect_success("tools/list run", peer.finish()?)?;
        Ok((round_trip, from_spawn, list))
    };
    // Unmeasured: the pins are made on the first run, as on a user's first start; the lists
    // are compared.
    let (_, _, direct_list) = once(Route::Direct)?;
    let (_, _, firewall_list) = once(Route::Firewall)?;
    if direct_list != firewall_list || direct_list.len() < 10_000 {
        return Err(io::Error::other(format!(
            "the firewall's tools/list ({} bytes) is not the server's ({} bytes)",
            firewall_list.len(),
            direct_list.len()
        )));
    }
    let mut round_trips = Pair { direct: Vec::new(), firewall: Vec::new() };
    let mut from_spawn = Pair { direct: Vec::new(), firewall: Vec::new() };
    for i in 0..spawns {
        let order = if direct_first(i) {
            [Route::Direct, Route::Firewall]
        } else {
            [Route::Firewall, Route::Direct]
        };
        for route in order {
            let (list, total, _) = once(route)?;
            let (rt, fs) = match route {
                Route::Direct => (&mut round_trips.direct, &mut from_spawn.direct),
                _ => (&mut round_trips.firewall, &mut from_spawn.firewall),
            };
            rt.push(list);
            fs.push(total);
        }
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    Ok((
        Pair {
            direct: median(&mut round_trips.direct),
            firewall: median(&mut round_trips.firewall),
        },
        Pair { direct: median(&mut from_spawn.direct), firewall: median(&mut from_spawn.firewall) },
    ))
}

/// `count` shims (each with its own server, all sharing one history, as a client's servers do)
/// relaying `blobs` results of 1 MiB each, round-robin: their peak resident sets are summed.
fn measure_many(bench: &Bench, count: usize, blobs: usize) -> io::Result<Option<ManyShims>> {
    let mut peers =
        (0..count).map(|_| Peer::start(bench, Route::Firewall)).collect::<io::Result<Vec<_>>>()?;
    for peer in &mut peers {
        peer.call(Tool::Echo)?;
    }
    for _ in 0..blobs {
        for peer in &mut peers {
            let len = peer.call(Tool::Blob(BLOB_BYTES))?.len();
            if len < BLOB_BYTES {
                return Err(io::Error::other(format!("a blob result of only {len} bytes")));
            }
        }
    }
    let peaks: Option<Vec<u64>> = peers.iter().map(|p| vm_hwm_kib(p.pid())).collect();
    // What they hold once idle: a shim gives back what large results needed once none has
    // come for a second (`RELEASE_AFTER` in `screen.rs`; its result scanner's last job ends a
    // moment after the client has the result).
    std::thread::sleep(Duration::from_millis(1500));
    let pss: Option<Vec<u64>> = peers.iter().map(|p| pss_kib(p.pid())).collect();
    for peer in peers {
        expect_success("mcpfw wrap", peer.finish()?)?;
    }
    Ok(peaks.map(|peaks| ManyShims {
        count,
        sum_hwm_kib: peaks.iter().sum(),
        max_hwm_kib: peaks.iter().copied().max().unwrap_or(0),
        sum_pss_kib: pss.map(|p| p.iter().sum()),
    }))
}

/// The peak resident set of `mcpfw daemon` (its own home, no notifications) once it listens and
/// has sat idle for a second.
fn measure_daemon_idle(bench: &Bench) -> io::Result<Option<u64>> {
    let home = tempfile::Builder::new().prefix("mcpfw-bench-daemon-").tempdir()?;
    let socket = mcpfw::paths::Paths::under(home.path()).runtime.join("mcpfw.sock");
    let stderr = File::options().create(true).append(true).open(bench.stderr_path())?;
    let mut daemon = Command::new(&bench.mcpfw)
        .args(["daemon", "--no-notify"])
        .env("MCPFW_HOME", home.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        if Instant::now() > deadline || daemon.try_wait()?.is_some() {
            let _ = daemon.kill();
            let _ = daemon.wait();
            return Err(io::Error::other("mcpfw daemon did not start listening"));
        }
        thread::sleep(Duration::from_millis(20));
    }
    thread::sleep(Duration::from_secs(1));
    let peak = vm_hwm_kib(daemon.id());
    // SAFETY: kill(2) on the daemon this function started; no memory-safety preconditions.
    unsafe {
        libc::kill(daemon.id() as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while daemon.try_wait()?.is_none() {
        if Instant::now() > deadline {
            let _ = daemon.kill();
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = daemon.wait();
    Ok(peak)
}

fn expect_success(what: &str, status: ExitStatus) -> io::Result<()> {
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("{what} exited with {status}")))
    }
}

/// The peak resident set size of a live process (`VmHWM`), in KiB.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The proportional set size of a live process (`Pss` in `smaps_rollup`), in KiB.
fn pss_kib(pid: u32) -> Option<u64> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let line = rollup.lines().find(|l| l.starts_with("Pss:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The CPU time of every live thread of a process, by thread name, largest first.
fn thread_cpu_times(pid: u32) -> Vec<(String, Duration)> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut times: Vec<(String, Duration)> = tasks
        .filter_map(|task| {
            let dir = task.ok()?.path();
            let name = std::fs::read_to_string(dir.join("comm")).ok()?;
            Some((name.trim().to_owned(), cpu_time(&dir.join("stat"))?))
        })
        .collect();
    times.sort_by_key(|(_, t)| std::cmp::Reverse(*t));
    times
}

/// User plus system CPU time from a `/proc/.../stat` file.
fn cpu_time(stat_path: &Path) -> Option<Duration> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no memory-safety preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| Duration::from_secs_f64(ticks as f64 / hz as f64))
}

// ---------------------------------------------------------------------------------------------
// Report

/// A target a measurement is held to.
#[derive(Debug, Clone, Copy)]
struct Check {
    /// The value compared with the limit (added µs, added %, MiB …).
    value: f64,
    limit: f64,
    /// For a target known to be missed (see docs/performance.md): the regression bound that
    /// `MCPFW_BENCH_ENFORCE` holds the value to instead.
    known_miss_bound: Option<f64>,
    /// The most slack this target gets, whatever `MCPFW_BENCH_SLACK` says (memory is
    /// deterministic; a stable time needs little).
    max_slack: Option<f64>,
}

/// The slack memory targets get at most.
const MEMORY_SLACK: f64 = 1.5;

impl Check {
    fn new(value: f64, limit: f64) -> Self {
        Self { value, limit, known_miss_bound: None, max_slack: None }
    }

    /// A memory target: held with at most [`MEMORY_SLACK`].
    fn memory(value: f64, limit: f64) -> Self {
        Self { max_slack: Some(MEMORY_SLACK), ..Self::new(value, limit) }
    }

    fn slack(self, slack: f64) -> f64 {
        self.max_slack.map_or(slack, |max| slack.min(max))
    }

    fn passes(self, slack: f64) -> bool {
        self.value <= self.known_miss_bound.unwrap_or(self.limit) * self.slack(slack)
    }

    fn meets_target(self, slack: f64) -> bool {
        self.value <= self.limit * self.slack(slack)
    }
}

/// One line of the table.
struct Row {
    metric: String,
    direct: String,
    firewall: String,
    delta: String,
    target: &'static str,
    check: Option<Check>,
}

impl Results {
    fn rows(&self) -> Vec<Row> {
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let (lat_d, lat_f) = (self.latency.direct, self.latency.firewall);
        let added_p50 = us(lat_f.p50) - us(lat_d.p50);
        let added_p99 = us(lat_f.p99) - us(lat_d.p99);
        let (blob_d, blob_f) = (self.blobs.direct, self.blobs.firewall);
        let blob_total_pct = 100.0 * (ms(blob_f.total) / ms(blob_d.total) - 1.0);
        let blob_median_pct = 100.0 * (ms(blob_f.median) / ms(blob_d.median) - 1.0);
        let startup_added = ms(self.startup.firewall) - ms(self.startup.direct);
        let box_added = ms(self.startup.firewall) - ms(self.startup_unboxed);
        let peak_mib = self.shim_peak_kib.map(mib);
        let list_added = ms(self.first_list.firewall) - ms(self.first_list.direct);
        let list_from_spawn_added =
            ms(self.first_list_from_spawn.firewall) - ms(self.first_list_from_spawn.direct);
        vec![
            Row {
                metric: format!("round trip p50 (n={})", self.round_trips),
                direct: format!("{:.1} µs", us(lat_d.p50)),
                firewall: format!("{:.1} µs", us(lat_f.p50)),
                delta: format!("{added_p50:+.1} µs"),
                target: "≤ 50 µs added",
                check: Some(Check::new(added_p50, 50.0)),
            },
            Row {
                metric: format!("round trip p99 (n={})", self.round_trips),
                direct: format!("{:.1} µs", us(lat_d.p99)),
                firewall: format!("{:.1} µs", us(lat_f.p99)),
                delta: format!("{added_p99:+.1} µs"),
                target: "≤ 250 µs added",
                check: Some(Check::new(added_p99, 250.0)),
            },
            Row {
                metric: format!("pipelined throughput ({} msgs)", self.messages),
                direct: format!("{:.0} msg/s", self.throughput.direct),
                firewall: format!("{:.0} msg/s", self.throughput.firewall),
                delta: format!("×{:.2}", self.throughput.firewall / self.throughput.direct),
                target: "—",
                check: None,
            },
            Row {
                metric: format!("{} × 1 MiB results: total (median call)", self.blob_count),
                direct: format!("{:.1} ms ({:.2} ms)", ms(blob_d.total), ms(blob_d.median)),
                firewall: format!("{:.1} ms ({:.2} ms)", ms(blob_f.total), ms(blob_f.median)),
                delta: format!("{blob_total_pct:+.0} % ({blob_median_pct:+.0} %)"),
                target: "≤ 10 % added (median)",
                // Known miss: the firewall must hold a whole message to inspect it before
                // forwarding, one extra copy through a pipe that a direct pipe streams.
                check: Some(Check {
                    known_miss_bound: Some(300.0),
                    ..Check::new(blob_median_pct, 10.0)
                }),
            },
            Row {
                metric: format!("shim peak RSS (VmHWM), {} × 1 MiB results", self.blob_count),
                direct: "—".into(),
                firewall: peak_mib.map_or("n/a".into(), |m| format!("{m:.1} MiB")),
                delta: "—".into(),
                target: "≤ 10 MiB",
                // Known miss: the executable's code pages alone are about 14 MiB resident, and
                // the queues hold whole copies of large results (docs/performance.md). Bound:
                // 40-42 MiB measured after the detector's tables shrank; ×1.5 is 48 MiB.
                check: peak_mib
                    .map(|m| Check { known_miss_bound: Some(32.0), ..Check::memory(m, 10.0) }),
            },
            Row {
                metric: match self.many {
                    Some(m) => format!(
                        "{} shims at once, {} × 1 MiB results each, then 1.5 s idle: sum of PSS (sum of VmHWM; largest)",
                        m.count, self.shim_blobs
                    ),
                    None => "many shims at once: sum of PSS".into(),
                },
                direct: "—".into(),
                firewall: self.many.map_or("n/a".into(), |m| {
                    format!(
                        "{:.1} MiB ({:.1} MiB; {:.1} MiB)",
                        m.sum_pss_kib.map_or(f64::NAN, mib),
                        mib(m.sum_hwm_kib),
                        mib(m.max_hwm_kib)
                    )
                }),
                delta: "—".into(),
                target: "≤ 200 MiB (20 shims)",
                // What the shims take from the machine together is the sum of PSS: a page
                // several shims share (the executable's code) counts once, split between them.
                // The sum of VmHWM counts it in every shim (about 2.8× the sum of PSS) and is
                // reported beside it; one shim's own peak has the row above.
                check: self.many.map(|m| {
                    let pss = m.sum_pss_kib.map_or(f64::INFINITY, mib);
                    Check::memory(pss * 20.0 / m.count as f64, 200.0)
                }),
            },
            Row {
                metric: "`mcpfw daemon` idle: VmHWM".into(),
                direct: "—".into(),
                firewall: self
                    .daemon_idle_kib
                    .map_or("n/a".into(), |k| format!("{:.1} MiB", mib(k))),
                delta: "—".into(),
                target: "≤ 40 MiB",
                check: self.daemon_idle_kib.map(|k| Check::memory(mib(k), 40.0)),
            },
            Row {
                metric: format!("start-up to first answer (median of {})", self.startups),
                direct: format!("{:.2} ms", ms(self.startup.direct)),
                firewall: format!("{:.2} ms", ms(self.startup.firewall)),
                delta: format!("{startup_added:+.2} ms"),
                target: "≤ 5 ms added",
                // At the edge: held to the earlier target of 10 ms until it is met reliably.
                check: Some(Check {
                    known_miss_bound: Some(10.0),
                    ..Check::new(startup_added, 5.0)
                }),
            },
            Row {
                metric: format!(
                    "first tools/list of a 100-tool server: round trip (median of {})",
                    self.startups
                ),
                direct: format!("{:.2} ms", ms(self.first_list.direct)),
                firewall: format!("{:.2} ms", ms(self.first_list.firewall)),
                delta: format!("{list_added:+.2} ms"),
                target: "≤ 5 ms added",
                // Known miss: screening and pinning 100 tools, and the detector's automata when
                // their build (started with the shim) has not finished yet.
                check: Some(Check { known_miss_bound: Some(40.0), ..Check::new(list_added, 5.0) }),
            },
            Row {
                metric: format!("spawn → first tools/list answered (median of {})", self.startups),
                direct: format!("{:.2} ms", ms(self.first_list_from_spawn.direct)),
                firewall: format!("{:.2} ms", ms(self.first_list_from_spawn.firewall)),
                delta: format!("{list_from_spawn_added:+.2} ms"),
                target: "—",
                check: None,
            },
            Row {
                metric: format!("the box's part of start-up (median of {})", self.startups),
                direct: format!("{:.2} ms (box off)", ms(self.startup_unboxed)),
                firewall: format!("{:.2} ms", ms(self.startup.firewall)),
                delta: format!("{box_added:+.2} ms"),
                target: "≤ 15 ms added",
                // Met with room on a loaded machine (-1 to +14 ms over runs): at most ×1.5.
                check: Some(Check { max_slack: Some(1.5), ..Check::new(box_added, 15.0) }),
            },
        ]
    }

    fn failed(&self, slack: f64) -> bool {
        self.rows().iter().filter_map(|row| row.check).any(|check| !check.passes(slack))
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The Markdown report: a one-line context, the table, and the shim's CPU use.
fn render(config: &Config, results: &Results, took: Duration) -> String {
    let mut out = String::new();
    let mode = if config.quick { "quick" } else { "full" };
    let cores = thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(
        out,
        "\n### mcpfw relay benchmark ({mode} run, {cores} cores, {:.1} s, slack ×{}, memory ×{})\n",
        took.as_secs_f64(),
        config.slack,
        config.slack.min(MEMORY_SLACK)
    );
    out.push_str("| metric | direct | firewall | ratio / added | target | pass? |\n");
    out.push_str("|---|---:|---:|---:|---|---|\n");
    for row in results.rows() {
        let bound;
        let verdict = match row.check {
            None => "—",
            Some(check) if check.meets_target(config.slack) => "pass",
            Some(check) if check.passes(config.slack) => {
                bound = format!(
                    "known miss (held to ≤ {})",
                    check.known_miss_bound.unwrap_or(check.limit)
                );
                bound.as_str()
            }
            Some(_) => "**FAIL**",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {verdict} |",
            row.metric, row.direct, row.firewall, row.delta, row.target
        );
    }
    render_notes(&mut out, results);
    out
}

/// Where the shim's time went in the long-lived session: CPU per thread and the record log.
fn render_notes(out: &mut String, results: &Results) {
    let total: Duration = results.shim_threads.iter().map(|(_, t)| *t).sum();
    let per_thread: Vec<String> = results
        .shim_threads
        .iter()
        .filter(|(_, t)| !t.is_zero())
        .map(|(name, t)| format!("{name} {:.2} s", t.as_secs_f64()))
        .collect();
    let _ = writeln!(
        out,
        "\nshim CPU over the long-lived session ({} messages relayed): {:.2} s = {}",
        results.relayed,
        total.as_secs_f64(),
        per_thread.join(", ")
    );
    let _ = writeln!(
        out,
        "record log written meanwhile: {:.1} MiB ({:.0} bytes per message)",
        results.log_bytes as f64 / (1024.0 * 1024.0),
        results.log_bytes as f64 / results.relayed.max(1) as f64
    );
}

/// Writes the report next to the build output, where CI can pick it up.
fn write_report(report: &str) {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(target_dir_of_exe)
        .unwrap_or_else(|| PathBuf::from("target"));
    let path = dir.join("mcpfw-bench.md");
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, report)) {
        Ok(()) => eprintln!("relay bench: report written to {}", path.display()),
        Err(e) => eprintln!("relay bench: cannot write {}: {e}", path.display()),
    }
}

/// `<target>` from this executable's path, `<target>/release/deps/relay-<hash>`.
fn target_dir_of_exe() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.ancestors().nth(3).map(Path::to_path_buf)
}

// ---------------------------------------------------------------------------------------------
// The server

/// A minimal, deterministic MCP stdio server: std only, blocking, one line in, one line out.
///
/// It answers `initialize`, `ping`, `tools/list` (100 real tool definitions) and `tools/call`
/// (`echo` → a small text, `get_blob` with `{"bytes":N}` → a text of N bytes); notifications
/// and responses get no answer. Output is
/// flushed whenever no more input is buffered, so pipelined requests are answered in batches.
mod echo_server {
    use super::*;

    pub fn run() -> io::Result<()> {
        let input = File::from(io::stdin().as_fd().try_clone_to_owned()?);
        let output = File::from(io::stdout().as_fd().try_clone_to_owned()?);
        let mut reader = BufReader::with_capacity(64 * 1024, input);
        let mut writer = BufWriter::with_capacity(64 * 1024, output);
        let mut line = Vec::with_capacity(4096);
        let mut filler = Vec::new();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            answer(&line, &mut writer, &mut filler)?;
            if reader.buffer().is_empty() {
                writer.flush()?;
            }
        }
        writer.flush()
    }

    /// Writes the response to one request line, if it is a request.
    fn answer(line: &[u8], out: &mut impl Write, filler: &mut Vec<u8>) -> io::Result<()> {
        let (Some(id), Some(method)) =
            (raw_member(line, b"\"id\":"), string_member(line, b"\"method\":\""))
        else {
            return Ok(()); // a notification or a response: nothing to say
        };
        out.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":")?;
        out.write_all(id)?;
        match method {
            b"initialize" => writeln!(
                out,
                ",\"result\":{{\"protocolVersion\":\"{PROTOCOL_VERSION}\",\
                 \"capabilities\":{{\"tools\":{{}}}},\
                 \"serverInfo\":{{\"name\":\"relay-bench-echo\",\"version\":\"1\"}}}}}}"
            ),
            b"ping" => out.write_all(b",\"result\":{}}\n"),
            b"tools/list" => {
                out.write_all(b",\"result\":{\"tools\":")?;
                out.write_all(hundred_tools())?;
                out.write_all(b"}}\n")
            }
            b"tools/call" => {
                let size = raw_member(line, b"\"bytes\":")
                    .and_then(|raw| std::str::from_utf8(raw).ok()?.parse::<usize>().ok());
                out.write_all(b",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"")?;
                match size {
                    Some(size) => {
                        if filler.len() < size {
                            filler.resize(size, b'x');
                        }
                        out.write_all(&filler[..size])?;
                    }
                    None => out.write_all(b"pong")?,
                }
                out.write_all(b"\"}],\"isError\":false}}\n")
            }
            _ => out.write_all(b",\"error\":{\"code\":-32601,\"message\":\"method not found\"}}\n"),
        }
    }

    /// The real tool lists of tests/ (fixtures and corpus), built in: the server may run in a
    /// box that cannot read the source tree.
    const TOOL_LISTS: [&str; 9] = [
        include_str!("../tests/fixtures/tools/everything.json"),
        include_str!("../tests/fixtures/tools/filesystem.json"),
        include_str!("../tests/fixtures/tools/memory.json"),
        include_str!("../tests/corpus/tools/fetch.json"),
        include_str!("../tests/corpus/tools/git.json"),
        include_str!("../tests/corpus/tools/github.json"),
        include_str!("../tests/corpus/tools/puppeteer.json"),
        include_str!("../tests/corpus/tools/sequential-thinking.json"),
        include_str!("../tests/corpus/tools/time.json"),
    ];

    /// 100 real tool definitions ([`TOOL_LISTS`], repeated under new names to make 100), as
    /// compact JSON; made once, at the first `tools/list`.
    fn hundred_tools() -> &'static [u8] {
        static TOOLS: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
        TOOLS.get_or_init(|| {
            let mut tools: Vec<serde_json::Value> = Vec::new();
            for list in TOOL_LISTS {
                if let Ok(serde_json::Value::Array(list)) = serde_json::from_str(list) {
                    tools.extend(list);
                }
            }
            let base = tools.clone();
            let mut i = 0;
            while tools.len() < 100 && !base.is_empty() {
                let mut tool = base[i % base.len()].clone();
                let name = format!("{}_{i}", tool["name"].as_str().unwrap_or("tool"));
                tool["name"] = serde_json::Value::String(name);
                tools.push(tool);
                i += 1;
            }
            tools.truncate(100);
            serde_json::to_vec(&tools).unwrap_or_else(|_| b"[]".to_vec())
        })
    }

    /// The raw JSON after the first `key` (a number or other scalar), up to `,` or `}`.
    fn raw_member<'a>(line: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
        let start = memchr::memmem::find(line, key)? + key.len();
        let rest = &line[start..];
        let end = rest.iter().position(|b| matches!(b, b',' | b'}'))?;
        Some(rest[..end].trim_ascii())
    }

    /// The contents of the string after the first `key` (which includes the opening quote).
    fn string_member<'a>(line: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
        let start = memchr::memmem::find(line, key)? + key.len();
        let rest = &line[start..];
        Some(&rest[..memchr::memchr(b'"', rest)?])
    }
}
