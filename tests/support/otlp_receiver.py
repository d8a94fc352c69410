#!/usr/bin/env python3
"""A real OTLP/HTTP receiver for the telemetry tests.

Usage: otlp_receiver.py OUT_DIR [--grpc]

Listens on 127.0.0.1 (a free port), prints `LISTENING <port>` on stdout once it accepts
connections, and decodes every POST to /v1/traces and /v1/logs as the OTLP protobuf
messages (ExportTraceServiceRequest, ExportLogsServiceRequest, ExportMetricsServiceRequest,
from the `opentelemetry-proto` package) the way a collector does; with --grpc, it serves
OTLP/gRPC instead (the TraceService, LogsService and MetricsService of the same package, over
grpcio). Each span, each log record and each metric data point becomes one JSON line in
OUT_DIR/spans.jsonl, OUT_DIR/logs.jsonl or OUT_DIR/metrics.jsonl, with its resource's
attributes, for the test to assert on. A body that does not decode is answered 400 and recorded in OUT_DIR/errors.txt.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

LOCK = threading.Lock()


def value(v):
    """An OTLP AnyValue as plain JSON."""
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return attrs(v.kvlist_value.values)
    if kind == "bytes_value":
        return v.bytes_value.hex()
    return getattr(v, kind)


def attrs(kvs):
    return {kv.key: value(kv.value) for kv in kvs}


def spans(request):
    for rs in request.resource_spans:
        resource = attrs(rs.resource.attributes)
        for ss in rs.scope_spans:
            for s in ss.spans:
                yield {
                    "resource": resource,
                    "scope": ss.scope.name,
                    "name": s.name,
                    "trace_id": s.trace_id.hex(),
                    "span_id": s.span_id.hex(),
                    "parent_span_id": s.parent_span_id.hex(),
                    "kind": s.kind,
                    "start_ns": s.start_time_unix_nano,
                    "end_ns": s.end_time_unix_nano,
                    "attributes": attrs(s.attributes),
                    "events": [
                        {"name": e.name, "attributes": attrs(e.attributes)} for e in s.events
                    ],
                    "status": {"code": s.status.code, "message": s.status.message},
                }


def logs(request):
    for rl in request.resource_logs:
        resource = attrs(rl.resource.attributes)
        for sl in rl.scope_logs:
            for r in sl.log_records:
                yield {
                    "resource": resource,
                    "scope": sl.scope.name,
                    "event_name": r.event_name,
                    "time_ns": r.time_unix_nano,
                    "severity_number": r.severity_number,
                    "severity_text": r.severity_text,
                    "body": value(r.body),
                    "attributes": attrs(r.attributes),
                    "trace_id": r.trace_id.hex(),
                    "span_id": r.span_id.hex(),
                }


def metrics(request):
    for rm in request.resource_metrics:
        resource = attrs(rm.resource.attributes)
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                data = getattr(m, kind)
                common = {
                    "resource": resource,
                    "scope": sm.scope.name,
                    "name": m.name,
                    "unit": m.unit,
                    "kind": kind,
                    "temporality": getattr(data, "aggregation_temporality", 0),
                    "is_monotonic": getattr(data, "is_monotonic", False),
                }
                for p in data.data_points:
                    point = dict(common, attributes=attrs(p.attributes))
                    if kind == "histogram":
                        point.update(
                            count=p.count,
                            sum=p.sum,
                            bucket_counts=list(p.bucket_counts),
                            explicit_bounds=list(p.explicit_bounds),
                        )
                    else:
                        point["value"] = p.as_int if p.WhichOneof("value") == "as_int" else p.as_double
                    yield point


class Handler(BaseHTTPRequestHandler):
    out_dir = "."

    def log_message(self, *args):  # keep stderr quiet
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        if self.path == "/v1/traces":
            request, response, convert, name = (
                ExportTraceServiceRequest(), ExportTraceServiceResponse(), spans, "spans.jsonl")
        elif self.path == "/v1/logs":
            request, response, convert, name = (
                ExportLogsServiceRequest(), ExportLogsServiceResponse(), logs, "logs.jsonl")
        elif self.path == "/v1/metrics":
            request, response, convert, name = (
                ExportMetricsServiceRequest(), ExportMetricsServiceResponse(), metrics,
                "metrics.jsonl")
        else:
            self.send_error(404)
            return
        try:
            if self.headers.get("content-type") != "application/x-protobuf":
                raise DecodeError(f"content-type {self.headers.get('content-type')!r}")
            request.ParseFromString(body)
        except DecodeError as e:
            with LOCK, open(os.path.join(self.out_dir, "errors.txt"), "a") as f:
                f.write(f"{self.path}: {e}\n")
            self.send_error(400)
            return
        write(self.out_dir, name, convert(request))
        payload = response.SerializeToString()
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def write(out_dir: str, name: str, items) -> None:
    with LOCK, open(os.path.join(out_dir, name), "a") as f:
        for item in items:
            f.write(json.dumps(item, sort_keys=True) + "\n")


def serve_grpc(out_dir: str) -> None:
    from concurrent import futures

    import grpc
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

    class Traces(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):
            write(out_dir, "spans.jsonl", spans(request))
            return ExportTraceServiceResponse()

    class Logs(logs_service_pb2_grpc.LogsServiceServicer):
        def Export(self, request, context):
            write(out_dir, "logs.jsonl", logs(request))
            return ExportLogsServiceResponse()

    class Metrics(metrics_service_pb2_grpc.MetricsServiceServicer):
        def Export(self, request, context):
            write(out_dir, "metrics.jsonl", metrics(request))
            return ExportMetricsServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(Metrics(), server)
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Traces(), server)
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(Logs(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(f"LISTENING {port}", flush=True)
    server.wait_for_termination()


def main() -> None:
    if "--grpc" in sys.argv[2:]:
        serve_grpc(sys.argv[1])
        return
    Handler.out_dir = sys.argv[1]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"LISTENING {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
