//! OpenTelemetry export: every recorded event as OTLP spans and log records (docs/teams.md).
//!
//! [`OtlpRecorder`] is one more [`Recorder`] in a server's fan-out, built by the composition
//! root (`compose::telemetry`) for `mcpfw wrap`, the bridge and the HTTP proxy. It never stands
//! in the relay's way and never costs the local record: `record` puts the event in a bounded
//! queue and returns (a full queue drops the event and counts it); one exporter thread drains
//! the queue in batches, turns events into spans and logs (`convert`) and sends them with the
//! official OTLP exporters (HTTP/protobuf over reqwest, or gRPC over tonic) on a
//! single-threaded runtime of its own. [`OtlpRecorder::finish`] sends what is left within a
//! short deadline and warns with the number of events that could not be exported.

mod convert;
mod metrics;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::logs::{LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry_otlp::{
    LogExporter, MetricExporter, Protocol, SpanExporter, WithExportConfig, WithHttpConfig,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::{LogBatch, LogExporter as _, SdkLoggerProvider};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter as _;
use opentelemetry_sdk::trace::{SpanData, SpanExporter as _};

pub use convert::Transport;
pub use mcpfw_core::policy::file::{OtlpProtocol, TelemetrySettings};

use crate::record::{Event, RecordError, Recorder};

/// Events waiting for the exporter at most; more are dropped (and counted).
pub const QUEUE_CAPACITY: usize = 4096;
/// Events turned into one export request at most.
const MAX_BATCH: usize = 512;
/// How long the exporter gathers events before sending a batch.
const BATCH_DELAY: Duration = Duration::from_millis(200);

/// Why export could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error(
        "OTEL_EXPORTER_OTLP_PROTOCOL={0:?} is not supported (use \"http/protobuf\" or \"grpc\")"
    )]
    Protocol(String),
    #[error("cannot set up the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("cannot set up the OTLP HTTP client: {0}")]
    Client(String),
    #[error("cannot start the OTLP exporter thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Where and how to export, resolved from `[telemetry]` and the `OTEL_*` environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportConfig {
    pub protocol: OtlpProtocol,
    /// The base address from policy.toml, used only when no `OTEL_EXPORTER_OTLP_*ENDPOINT`
    /// variable is set (those the SDK reads itself).
    pub endpoint: Option<String>,
    pub include_content: bool,
    pub transport: Transport,
}

/// Variables that name an endpoint; any of them turns export on.
const ENDPOINT_VARS: [&str; 3] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
];

impl ExportConfig {
    /// `None` unless an endpoint is configured (policy.toml or the environment) and
    /// `OTEL_SDK_DISABLED` is not `true`; an unsupported protocol is an error.
    pub fn resolve(
        settings: &TelemetrySettings,
        env: impl Fn(&str) -> Option<String>,
        transport: Transport,
    ) -> Result<Option<Self>, TelemetryError> {
        let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        if set("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return Ok(None);
        }
        let from_env = ENDPOINT_VARS.iter().any(|name| set(name).is_some());
        let endpoint = settings.endpoint.clone().filter(|e| !e.trim().is_empty());
        if !from_env && endpoint.is_none() {
            return Ok(None);
        }
        let protocol = match set("OTEL_EXPORTER_OTLP_PROTOCOL") {
            Some(value) => {
                OtlpProtocol::from_env_value(&value).ok_or(TelemetryError::Protocol(value))?
            }
            None => settings.protocol.unwrap_or(OtlpProtocol::HttpProtobuf),
        };
        Ok(Some(Self {
            protocol,
            endpoint: if from_env { None } else { endpoint },
            include_content: settings.include_content,
            transport,
        }))
    }
}

/// What the exporter did so far.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TelemetryStats {
    /// Events accepted into the queue.
    pub queued: u64,
    /// Events dropped because the queue was full.
    pub dropped: u64,
    /// Events whose log record the collector accepted.
    pub exported: u64,
    /// Events whose export failed (collector unreachable or refusing).
    pub failed: u64,
    /// Spans the collector accepted, and spans whose export failed.
    pub spans_exported: u64,
    pub spans_failed: u64,
}

impl TelemetryStats {
    /// Events that did not reach the collector (dropped, failed, or still queued).
    pub fn lost(&self) -> u64 {
        self.dropped + self.queued.saturating_sub(self.exported)
    }
}

#[derive(Default)]
struct Counters {
    queued: AtomicU64,
    dropped: AtomicU64,
    exported: AtomicU64,
    failed: AtomicU64,
    spans_exported: AtomicU64,
    spans_failed: AtomicU64,
    finishing: AtomicBool,
    /// Set by the exporter thread when it is done; `finish` waits on it.
    done: Mutex<bool>,
    done_signal: Condvar,
}

/// The recorder that exports events over OTLP (see the module's documentation).
pub struct OtlpRecorder {
    queue: SyncSender<Event>,
    counters: Arc<Counters>,
    finished: AtomicBool,
}

impl OtlpRecorder {
    /// Starts the exporter thread. The exporters are built on it, so a bad endpoint is reported
    /// here (`Err`) rather than at the first event.
    pub fn start(config: ExportConfig) -> Result<Self, TelemetryError> {
        let (queue, events) = std::sync::mpsc::sync_channel(QUEUE_CAPACITY);
        let counters = Arc::new(Counters::default());
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel(1);
        let thread_counters = counters.clone();
        std::thread::Builder::new().name("mcpfw-otlp".into()).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = ready_tx.send(Err(TelemetryError::Thread(e)));
                    return;
                }
            };
            let exporters = {
                let _entered = runtime.enter();
                Exporters::build(&config)
            };
            match exporters {
                Ok(exporters) => {
                    let _ = ready_tx.send(Ok(()));
                    let metrics = metrics::Metrics::new(
                        exporters.resource.clone(),
                        config.transport,
                        thread_counters.clone(),
                    );
                    let mut exporter = Exporter {
                        runtime,
                        exporters,
                        metrics,
                        metrics_every: metrics::interval(|name| std::env::var(name).ok()),
                        metrics_sent: Instant::now(),
                        converter: convert::Converter::new(
                            config.transport,
                            config.include_content,
                        ),
                        counters: thread_counters.clone(),
                        warned: false,
                    };
                    exporter.run(&events);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
            let mut done = thread_counters.done.lock().unwrap_or_else(|p| p.into_inner());
            *done = true;
            thread_counters.done_signal.notify_all();
        })?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Self { queue, counters, finished: AtomicBool::new(false) }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(TelemetryError::Client("the exporter thread ended".into())),
        }
    }

    /// What the exporter did so far.
    pub fn stats(&self) -> TelemetryStats {
        let c = &self.counters;
        TelemetryStats {
            queued: c.queued.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            exported: c.exported.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            spans_exported: c.spans_exported.load(Ordering::Relaxed),
            spans_failed: c.spans_failed.load(Ordering::Relaxed),
        }
    }

    /// Sends what is queued (and ends the requests still open), waiting at most `timeout`,
    /// then warns if any event was not exported. Later events are dropped (and counted).
    pub fn finish(&self, timeout: Duration) -> TelemetryStats {
        if self.finished.swap(true, Ordering::SeqCst) {
            return self.stats();
        }
        self.counters.finishing.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + timeout;
        let mut done = self.counters.done.lock().unwrap_or_else(|p| p.into_inner());
        while !*done {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            done = match self.counters.done_signal.wait_timeout(done, left) {
                Ok((guard, _)) => guard,
                Err(p) => p.into_inner().0,
            };
        }
        drop(done);
        let stats = self.stats();
        if stats.lost() > 0 || stats.spans_failed > 0 {
            tracing::warn!(
                lost = stats.lost(),
                dropped = stats.dropped,
                failed = stats.failed,
                exported = stats.exported,
                spans_failed = stats.spans_failed,
                "OpenTelemetry export: {} of {} events were not exported ({} dropped because the \
                 queue was full, the rest failed or were still queued at exit)",
                stats.lost(),
                stats.queued + stats.dropped,
                stats.dropped,
            );
        } else {
            tracing::debug!(
                exported = stats.exported,
                spans = stats.spans_exported,
                "OpenTelemetry export finished"
            );
        }
        stats
    }
}

impl Recorder for OtlpRecorder {
    fn record(&self, event: Event) {
        if self.finished.load(Ordering::Relaxed) {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        match self.queue.try_send(event) {
            Ok(()) => {
                self.counters.queued.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Export is never what keeps a decision: the local history is. Queued like the rest.
    fn record_durable(&self, event: Event) -> Result<(), RecordError> {
        self.record(event);
        Ok(())
    }
}

struct Exporters {
    spans: SpanExporter,
    logs: LogExporter,
    metrics: MetricExporter,
    resource: Resource,
    /// Mints SDK log records (it has no processor: records are exported by hand, in batches).
    provider: SdkLoggerProvider,
}

impl Exporters {
    /// Builds both exporters; must run inside the exporter's runtime (tonic's channel).
    fn build(config: &ExportConfig) -> Result<Self, TelemetryError> {
        let resource = resource();
        let base = config.endpoint.as_deref().map(|e| e.trim_end_matches('/').to_owned());
        let (mut spans, mut logs, metrics) = match config.protocol {
            OtlpProtocol::HttpProtobuf => {
                let client = http_client()?;
                let mut spans = SpanExporter::builder()
                    .with_http()
                    .with_protocol(Protocol::HttpBinary)
                    .with_http_client(client.clone());
                let mut logs = LogExporter::builder()
                    .with_http()
                    .with_protocol(Protocol::HttpBinary)
                    .with_http_client(client.clone());
                let mut metrics = MetricExporter::builder()
                    .with_http()
                    .with_protocol(Protocol::HttpBinary)
                    .with_http_client(client);
                if let Some(base) = &base {
                    spans = spans.with_endpoint(format!("{base}/v1/traces"));
                    logs = logs.with_endpoint(format!("{base}/v1/logs"));
                    metrics = metrics.with_endpoint(format!("{base}/v1/metrics"));
                }
                (spans.build()?, logs.build()?, metrics.build()?)
            }
            OtlpProtocol::Grpc => {
                let mut spans = SpanExporter::builder().with_tonic();
                let mut logs = LogExporter::builder().with_tonic();
                let mut metrics = MetricExporter::builder().with_tonic();
                if let Some(base) = &base {
                    spans = spans.with_endpoint(base.clone());
                    logs = logs.with_endpoint(base.clone());
                    metrics = metrics.with_endpoint(base.clone());
                }
                (spans.build()?, logs.build()?, metrics.build()?)
            }
        };
        spans.set_resource(&resource);
        logs.set_resource(&resource);
        Ok(Self { spans, logs, metrics, resource, provider: SdkLoggerProvider::builder().build() })
    }
}

/// `service.name` is `mcpfw` unless `OTEL_SERVICE_NAME` or `OTEL_RESOURCE_ATTRIBUTES` names
/// it; the SDK adds the rest of `OTEL_RESOURCE_ATTRIBUTES`. `service.instance.id` is random
/// per process unless set there: each shim is its own series of cumulative metrics.
fn resource() -> Resource {
    let attributes = std::env::var("OTEL_RESOURCE_ATTRIBUTES").unwrap_or_default();
    let named = std::env::var("OTEL_SERVICE_NAME").is_ok_and(|v| !v.trim().is_empty())
        || attributes.contains("service.name=");
    let mut builder = Resource::builder()
        .with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    if !attributes.contains("service.instance.id=") {
        let mut bytes = [0u8; 16];
        if getrandom::fill(&mut bytes).is_ok() {
            builder = builder.with_attribute(opentelemetry::KeyValue::new(
                "service.instance.id",
                hex::encode(bytes),
            ));
        }
    }
    if named { builder.build() } else { builder.with_service_name("mcpfw").build() }
}

/// The workspace's reqwest client (rustls with the ring provider), for OTLP/HTTP.
fn http_client() -> Result<reqwest::Client, TelemetryError> {
    // Installing fails only when a provider is already installed, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let timeout = std::env::var("OTEL_EXPORTER_OTLP_TIMEOUT")
        .ok()
        .and_then(|ms| ms.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(10), Duration::from_millis);
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .build()
        .map_err(|e| TelemetryError::Client(e.to_string()))
}

/// An attribute's value as a log record holds it.
fn any_value(value: opentelemetry::Value) -> opentelemetry::logs::AnyValue {
    use opentelemetry::logs::AnyValue;
    use opentelemetry::{Array, Value};
    match value {
        Value::Bool(b) => AnyValue::Boolean(b),
        Value::I64(i) => AnyValue::Int(i),
        Value::F64(f) => AnyValue::Double(f),
        Value::String(s) => AnyValue::String(s),
        Value::Array(Array::String(items)) => {
            AnyValue::ListAny(Box::new(items.into_iter().map(AnyValue::String).collect()))
        }
        other => AnyValue::String(other.to_string().into()),
    }
}

/// The exporter thread's state.
struct Exporter {
    runtime: tokio::runtime::Runtime,
    exporters: Exporters,
    metrics: metrics::Metrics,
    /// How often the metrics are sent, and when they last were.
    metrics_every: Duration,
    metrics_sent: Instant,
    converter: convert::Converter,
    counters: Arc<Counters>,
    /// Whether the current outage was reported (once per outage).
    warned: bool,
}

impl Exporter {
    fn run(&mut self, events: &Receiver<Event>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            let finishing = self.counters.finishing.load(Ordering::SeqCst);
            match events.recv_timeout(if finishing { Duration::ZERO } else { BATCH_DELAY }) {
                Ok(event) => batch.push(event),
                Err(RecvTimeoutError::Timeout) if finishing => break,
                Err(RecvTimeoutError::Timeout) => {
                    self.metrics_due();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
            // Gather for a moment (or until the batch is full), then send.
            let deadline = Instant::now() + BATCH_DELAY;
            while batch.len() < MAX_BATCH {
                let left = if self.counters.finishing.load(Ordering::SeqCst) {
                    Duration::ZERO
                } else {
                    deadline.saturating_duration_since(Instant::now())
                };
                match events.recv_timeout(left) {
                    Ok(event) => batch.push(event),
                    Err(_) => break,
                }
            }
            self.export(std::mem::take(&mut batch));
            self.metrics_due();
        }
        // The session is over: requests still waiting for an answer are ended.
        let mut spans = Vec::new();
        self.converter.finish(&mut spans);
        self.send_spans(spans);
        self.send_metrics();
    }

    /// Sends the metrics when the interval has passed.
    fn metrics_due(&mut self) {
        if self.metrics_sent.elapsed() >= self.metrics_every {
            self.send_metrics();
        }
    }

    fn send_metrics(&mut self) {
        self.metrics_sent = Instant::now();
        let collected = match self.metrics.collect() {
            Ok(collected) => collected,
            Err(e) => {
                tracing::warn!("OpenTelemetry metrics could not be collected: {e}");
                return;
            }
        };
        match self.runtime.block_on(self.exporters.metrics.export(&collected)) {
            Ok(()) => self.recovered(),
            Err(e) => self.outage(&e.to_string()),
        }
    }

    fn export(&mut self, events: Vec<Event>) {
        let mut spans = Vec::new();
        let mut records = Vec::with_capacity(events.len());
        let logger = self.exporters.provider.logger("mcpfw");
        for event in &events {
            self.metrics.observe(event);
            let fields = self.converter.event(event, &mut spans);
            let mut record = logger.create_log_record();
            record.set_event_name("mcpfw.message");
            record.set_timestamp(fields.time);
            record.set_observed_timestamp(std::time::SystemTime::now());
            if fields.warn {
                record.set_severity_number(Severity::Warn);
                record.set_severity_text("WARN");
            } else {
                record.set_severity_number(Severity::Info);
                record.set_severity_text("INFO");
            }
            record.set_body(fields.body.into());
            record.add_attributes(
                fields.attributes.into_iter().map(|kv| (kv.key, any_value(kv.value))),
            );
            if let Some((trace, span)) = fields.trace {
                record.set_trace_context(
                    trace,
                    span,
                    Some(opentelemetry::trace::TraceFlags::SAMPLED),
                );
            }
            records.push(record);
        }
        self.send_spans(spans);
        let scope = self.converter.scope().clone();
        let pairs: Vec<_> = records.iter().map(|r| (r, &scope)).collect();
        let n = records.len() as u64;
        let result = self.runtime.block_on(self.exporters.logs.export(LogBatch::new(&pairs)));
        match result {
            Ok(()) => {
                self.counters.exported.fetch_add(n, Ordering::Relaxed);
                self.recovered();
            }
            Err(e) => {
                self.counters.failed.fetch_add(n, Ordering::Relaxed);
                self.outage(&e.to_string());
            }
        }
    }

    fn send_spans(&mut self, spans: Vec<SpanData>) {
        if spans.is_empty() {
            return;
        }
        let n = spans.len() as u64;
        match self.runtime.block_on(self.exporters.spans.export(spans)) {
            Ok(()) => {
                self.counters.spans_exported.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => {
                self.counters.spans_failed.fetch_add(n, Ordering::Relaxed);
                self.outage(&e.to_string());
            }
        }
    }

    fn outage(&mut self, error: &str) {
        if !self.warned {
            self.warned = true;
            tracing::warn!(
                "OpenTelemetry export failed ({error}); events are dropped (and counted) until \
                 the collector answers again"
            );
        }
    }

    fn recovered(&mut self) {
        if self.warned {
            self.warned = false;
            tracing::info!("OpenTelemetry export resumed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    fn settings(endpoint: Option<&str>, protocol: Option<OtlpProtocol>) -> TelemetrySettings {
        TelemetrySettings {
            endpoint: endpoint.map(str::to_owned),
            protocol,
            include_content: false,
        }
    }

    #[test]
    fn nothing_is_exported_unless_a_collector_is_named() {
        let resolved = ExportConfig::resolve(&settings(None, None), env(&[]), Transport::Pipe);
        assert_eq!(resolved.unwrap(), None);
        // A protocol alone names no collector.
        let resolved = ExportConfig::resolve(
            &settings(None, Some(OtlpProtocol::Grpc)),
            env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]),
            Transport::Pipe,
        );
        assert_eq!(resolved.unwrap(), None);
    }

    #[test]
    fn the_environment_wins_over_the_policy_file() {
        let file = settings(Some("http://file:4318"), Some(OtlpProtocol::HttpProtobuf));
        let resolved = ExportConfig::resolve(
            &file,
            env(&[
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://env:4317"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ]),
            Transport::Tcp,
        )
        .unwrap()
        .unwrap();
        assert_eq!(resolved.protocol, OtlpProtocol::Grpc);
        assert_eq!(resolved.endpoint, None, "the SDK reads the variables' endpoints itself");
        let resolved = ExportConfig::resolve(&file, env(&[]), Transport::Pipe).unwrap().unwrap();
        assert_eq!(resolved.endpoint.as_deref(), Some("http://file:4318"));
        assert_eq!(resolved.protocol, OtlpProtocol::HttpProtobuf);
    }

    #[test]
    fn a_disabled_sdk_or_an_unsupported_protocol_exports_nothing() {
        let file = settings(Some("http://file:4318"), None);
        let off =
            ExportConfig::resolve(&file, env(&[("OTEL_SDK_DISABLED", "true")]), Transport::Pipe);
        assert_eq!(off.unwrap(), None);
        let json = ExportConfig::resolve(
            &file,
            env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]),
            Transport::Pipe,
        );
        let error = json.unwrap_err().to_string();
        assert!(error.contains("http/json") && error.contains("grpc"), "{error}");
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        // A collector address nobody listens on, with exports that fail at once: the queue is
        // what is measured here, so the thread is kept busy by a flood larger than the queue.
        let config = ExportConfig {
            protocol: OtlpProtocol::HttpProtobuf,
            endpoint: Some("http://127.0.0.1:9".into()),
            include_content: false,
            transport: Transport::Pipe,
        };
        let recorder = OtlpRecorder::start(config).unwrap();
        let event = crate::record::Event::refused(
            "s",
            "session",
            crate::session::Direction::ClientToServer,
            crate::record::Verdict::Reject,
            None,
            "bad".into(),
            3,
        );
        let started = Instant::now();
        let total = QUEUE_CAPACITY as u64 * 3;
        for _ in 0..total {
            recorder.record(event.clone());
        }
        assert!(started.elapsed() < Duration::from_secs(2), "recording waited on the exporter");
        let stats = recorder.finish(Duration::from_secs(5));
        assert_eq!(stats.queued + stats.dropped, total);
        assert_eq!(stats.exported, 0);
        assert_eq!(stats.lost(), total, "{stats:?}");
        recorder.record(event);
        assert_eq!(recorder.stats().dropped, stats.dropped + 1, "events after finish are counted");
    }
}
