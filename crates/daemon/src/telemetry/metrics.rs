//! OTLP metrics derived from the recorded events (docs/teams.md, "Metrics").
//!
//! The exporter thread feeds every event it exports to [`Metrics::observe`], and sends what the
//! instruments hold every export interval and when the process ends. A manual reader collects
//! them on that same thread, so metrics add no thread and never touch the relay. Temporality is
//! cumulative: each process (one `mcpfw wrap`, the daemon's proxy) is one series, told apart by
//! `service.instance.id`.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, MeterProvider as _, ObservableCounter};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{
    InstrumentKind, ManualReader, Pipeline, SdkMeterProvider, Temporality,
};

use super::Counters;
use super::convert::Transport;
use crate::record::{Event, EventKind, ResultStatus, Verdict};
use crate::session::Direction;

/// The histogram's bucket boundaries in seconds, as the MCP semantic conventions advise for
/// `mcp.*.operation.duration`.
const DURATION_BUCKETS: [f64; 14] =
    [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0];

/// The export interval: `OTEL_METRIC_EXPORT_INTERVAL` (milliseconds), else the specification's
/// 60 s.
pub fn interval(env: impl Fn(&str) -> Option<String>) -> Duration {
    env("OTEL_METRIC_EXPORT_INTERVAL")
        .and_then(|ms| ms.trim().parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map_or(Duration::from_secs(60), Duration::from_millis)
}

/// The instruments, and the reader that collects them.
pub struct Metrics {
    reader: SharedReader,
    /// Kept so that the instruments stay registered.
    _provider: SdkMeterProvider,
    calls: Counter<u64>,
    approvals: Counter<u64>,
    findings: Counter<u64>,
    duration: Histogram<f64>,
    _dropped: ObservableCounter<u64>,
    transport: Transport,
}

impl Metrics {
    pub(super) fn new(resource: Resource, transport: Transport, counters: Arc<Counters>) -> Self {
        let reader = SharedReader(Arc::new(
            ManualReader::builder().with_temporality(Temporality::Cumulative).build(),
        ));
        let provider =
            SdkMeterProvider::builder().with_resource(resource).with_reader(reader.clone()).build();
        let meter = provider.meter("mcpfw");
        let calls = meter
            .u64_counter("mcpfw.calls")
            .with_unit("{request}")
            .with_description(
                "Requests the firewall decided, by verdict (`ask` is a prompt shown to a person)",
            )
            .build();
        let approvals = meter
            .u64_counter("mcpfw.approvals")
            .with_unit("{approval}")
            .with_description("Answers to held requests: a person's, or the timeout's")
            .build();
        let findings = meter
            .u64_counter("mcpfw.findings")
            .with_unit("{finding}")
            .with_description("Detector findings in what servers sent, after the fact")
            .build();
        let duration = meter
            .f64_histogram("mcp.client.operation.duration")
            .with_unit("s")
            .with_description("From forwarding a request to its response, as the firewall saw it")
            .with_boundaries(DURATION_BUCKETS.to_vec())
            .build();
        let dropped = meter
            .u64_observable_counter("mcpfw.telemetry.dropped")
            .with_unit("{event}")
            .with_description("Events not exported because the export queue was full")
            .with_callback(move |observer| {
                observer.observe(counters.dropped.load(Ordering::Relaxed), &[]);
            })
            .build();
        Self {
            reader,
            _provider: provider,
            calls,
            approvals,
            findings,
            duration,
            _dropped: dropped,
            transport,
        }
    }

    /// Counts one recorded event.
    pub fn observe(&self, event: &Event) {
        match event.kind {
            EventKind::Request => self.calls.add(1, &self.decision_attributes(event)),
            EventKind::Approval => self.approvals.add(1, &self.decision_attributes(event)),
            EventKind::Detection => {
                let mut a = vec![KeyValue::new("mcpfw.server", event.server.clone())];
                if let Some(by) = &event.decided_by {
                    a.push(KeyValue::new("mcpfw.decided_by", by.label()));
                }
                self.findings.add(1, &a);
            }
            EventKind::Result | EventKind::Error => {
                if let Some(latency) = event.latency_us {
                    self.duration.record(latency as f64 / 1e6, &self.response_attributes(event));
                }
            }
            _ => {}
        }
    }

    /// What the instruments hold now.
    pub fn collect(&self) -> Result<ResourceMetrics, opentelemetry_sdk::error::OTelSdkError> {
        let mut metrics = ResourceMetrics::default();
        self.reader.collect(&mut metrics)?;
        Ok(metrics)
    }

    fn decision_attributes(&self, event: &Event) -> Vec<KeyValue> {
        let mut a = Vec::with_capacity(8);
        a.push(KeyValue::new("mcpfw.server", event.server.clone()));
        if let Some(method) = &event.method {
            a.push(KeyValue::new("mcp.method.name", method.clone()));
        }
        if let Some(tool) = &event.tool {
            a.push(KeyValue::new("gen_ai.tool.name", tool.clone()));
        }
        if let Some(category) = event.category {
            a.push(KeyValue::new("mcpfw.category", category.as_str()));
        }
        a.push(KeyValue::new("mcpfw.verdict", event.verdict.as_str()));
        if let Some(by) = &event.decided_by {
            a.push(KeyValue::new("mcpfw.decided_by", by.label()));
        }
        a.push(KeyValue::new(
            "mcpfw.direction",
            match event.direction {
                Direction::ClientToServer => "client_to_server",
                Direction::ServerToClient => "server_to_client",
            },
        ));
        a
    }

    fn response_attributes(&self, event: &Event) -> Vec<KeyValue> {
        let mut a = Vec::with_capacity(7);
        a.push(KeyValue::new("mcpfw.server", event.server.clone()));
        if let Some(method) = &event.method {
            a.push(KeyValue::new("mcp.method.name", method.clone()));
        }
        if let Some(tool) = &event.tool {
            a.push(KeyValue::new("gen_ai.tool.name", tool.clone()));
        }
        if let Some(version) = &event.protocol_version {
            a.push(KeyValue::new("mcp.protocol.version", version.clone()));
        }
        a.push(KeyValue::new("network.transport", self.transport.as_str()));
        let error = match (event.kind, event.result_status) {
            _ if matches!(event.verdict, Verdict::Deny | Verdict::Drop | Verdict::Reject) => {
                Some("refused")
            }
            (EventKind::Error, _) | (_, Some(ResultStatus::Error)) => Some("jsonrpc_error"),
            (_, Some(ResultStatus::ToolError)) => Some("tool_error"),
            _ => None,
        };
        if let Some(error) = error {
            a.push(KeyValue::new("error.type", error));
        }
        a
    }
}

/// One manual reader, held by the provider and by [`Metrics`] (which collects through it).
#[derive(Debug, Clone)]
struct SharedReader(Arc<ManualReader>);

impl MetricReader for SharedReader {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.0.register_pipeline(pipeline);
    }

    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.0.collect(rm)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.0.temporality(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_is_the_variable_in_milliseconds_or_a_minute() {
        let none = |_: &str| None;
        assert_eq!(interval(none), Duration::from_secs(60));
        let set = |v: &'static str| move |_: &str| Some(v.to_owned());
        assert_eq!(interval(set("1500")), Duration::from_millis(1500));
        assert_eq!(interval(set("0")), Duration::from_secs(60));
        assert_eq!(interval(set("soon")), Duration::from_secs(60));
    }
}
