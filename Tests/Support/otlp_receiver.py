#!/usr/bin/env python3
"""A small OTLP/HTTP trace receiver for the span exporter's tests.

It decodes every POSTed ExportTraceServiceRequest with the `opentelemetry-proto` package from PyPI (a
decoder independent of the gateway's generated Swift) and appends one JSON line per request to --out:
  {"path", "content_type", "status" (what it answered), "resource": {key: value},
   "scopes": [{"name", "version"}], "spans": [{"trace_id", "span_id", "parent_span_id" (hex, "" for none),
   "name", "kind" (the SpanKind number), "flags", "start", "end" (ns), "status_code", "status_message",
   "attributes": {key: value}}]}

Usage: otlp_receiver.py --port N --port-file PATH --out FILE [--status N] [--fail-first K] [--reject N]
  --status N       answer every request with status N (after decoding and recording it)
  --fail-first K   answer the first K requests with 503 (and Retry-After: 0), then normally
  --reject N       report N spans of each accepted request as rejected (partial_success.rejected_spans)
  --count-only     record {"spans": N} per request instead of every span (benchmarks)
With --port 0 the kernel picks the port; it is written to --port-file once listening.
"""

import argparse
import os
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

OPTIONS = None
LOCK = threading.Lock()
STATE = {"requests": 0}


def value_of(any_value):
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    value = getattr(any_value, kind)
    if kind == "bytes_value":
        return value.hex()
    if kind in ("array_value", "kvlist_value"):
        return str(value)
    return value


def attributes_of(pairs):
    return {pair.key: value_of(pair.value) for pair in pairs}


def describe(request):
    resource = {}
    scopes = []
    spans = []
    for resource_spans in request.resource_spans:
        resource.update(attributes_of(resource_spans.resource.attributes))
        for scope_spans in resource_spans.scope_spans:
            scopes.append({"name": scope_spans.scope.name, "version": scope_spans.scope.version})
            for span in scope_spans.spans:
                spans.append(
                    {
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "name": span.name,
                        "kind": span.kind,
                        "flags": span.flags,
                        "start": span.start_time_unix_nano,
                        "end": span.end_time_unix_nano,
                        "status_code": span.status.code,
                        "status_message": span.status.message,
                        "attributes": attributes_of(span.attributes),
                    }
                )
    return resource, scopes, spans


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        sys.stderr.write("otlp_receiver: " + (format % args) + "\n")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        if OPTIONS.count_only:
            # For benchmarks: decode (so a malformed body still fails) but record only the span count, so
            # the receiver's own CPU stays small next to the gateway it shares the machine with.
            count = sum(len(scope.spans) for resource in request.resource_spans for scope in resource.scope_spans)
            resource, scopes, spans = {}, [], [None] * count
        else:
            resource, scopes, spans = describe(request)
        with LOCK:
            STATE["requests"] += 1
            number = STATE["requests"]
        status = 200
        if OPTIONS.status:
            status = OPTIONS.status
        elif number <= OPTIONS.fail_first:
            status = 503
        if OPTIONS.count_only:
            spans = len(spans)
        line = {
            "path": self.path,
            "content_type": self.headers.get("Content-Type", ""),
            "status": status,
            "resource": resource,
            "scopes": scopes,
            "spans": spans,
        }
        with LOCK:
            with open(OPTIONS.out, "a") as out:
                out.write(json.dumps(line) + "\n")
        if status == 200:
            response = ExportTraceServiceResponse()
            if OPTIONS.reject:
                response.partial_success.rejected_spans = min(OPTIONS.reject, spans if OPTIONS.count_only else len(spans))
                response.partial_success.error_message = "rejected by the test receiver"
            payload = response.SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
        else:
            payload = b"not now"
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            if status == 503:
                self.send_header("Retry-After", "0")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def main():
    global OPTIONS
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--out", required=True)
    parser.add_argument("--status", type=int, default=0)
    parser.add_argument("--count-only", action="store_true")
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--reject", type=int, default=0)
    OPTIONS = parser.parse_args()
    open(OPTIONS.out, "a").close()
    server = ThreadingHTTPServer(("127.0.0.1", OPTIONS.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if OPTIONS.port_file:
        with open(OPTIONS.port_file + ".tmp", "w") as out:
            out.write(str(port))
        os.replace(OPTIONS.port_file + ".tmp", OPTIONS.port_file)
    print(port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
