"""A Loki stand-in that also answers the read side doctor uses, in Loki's documented formats.

Loki is AGPL and not run here. On top of the push endpoint of ``LokiStandIn`` this answers:

* ``GET /loki/api/v1/query_range``: ``{"status":"success","data":{"resultType":"streams",
  "result":[{"stream":{labels},"values":[["<ns>","<line>"]]}]}}`` for a small LogQL subset: a
  selector on ``service_name`` (``=`` or ``=~".+"``) followed by ``|= "text"`` line filters and
  ``| name="value"`` label filters on structured metadata (OTLP attributes with Loki's names);
* ``GET /loki/api/v1/rules``: YAML, namespace -> rule groups (404 when none, as Loki answers);
* ``GET /config``: the running config as YAML;
* ``GET /metrics``: the compactor's last-successful-retention-run gauge.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import Any

import yaml

from aibos_otel.lifecycle.loki_delete import metadata_name
from tests.collector.harness import LokiStandIn

_SELECTOR = re.compile(r'^\{service_name(=~?)"([^"]*)"\}')
_LINE_FILTER = re.compile(r'\s*\|=\s*"([^"]*)"')
_LABEL_FILTER = re.compile(r'\s*\|\s*([A-Za-z_][A-Za-z0-9_]*)="([^"]*)"')


class LokiApiStandIn(LokiStandIn):
    """Push plus query_range, rules, /config and /metrics."""

    def __init__(self, config: dict[str, Any], rules: dict[str, Any] | None) -> None:
        super().__init__()
        self.config = config
        self.rules = rules
        self.last_retention_run = time.time() - 600
        stand_in = self
        base = self._server.RequestHandlerClass

        class Handler(base):  # type: ignore[misc,valid-type]
            def do_GET(self) -> None:
                status, content_type, body = stand_in.answer(self.path)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        assert issubclass(Handler, BaseHTTPRequestHandler)
        self._server.RequestHandlerClass = Handler

    def answer(self, path: str) -> tuple[int, str, bytes]:
        url = urllib.parse.urlsplit(path)
        if url.path == "/config":
            return 200, "text/plain; charset=utf-8", yaml.safe_dump(self.config).encode()
        if url.path == "/loki/api/v1/rules":
            if not self.rules:
                return 404, "text/plain", b"no rule groups found\n"
            return 200, "application/yaml", yaml.safe_dump(self.rules).encode()
        if url.path == "/metrics":
            line = f"loki_compactor_apply_retention_last_successful_run_timestamp_seconds {self.last_retention_run}\n"
            return 200, "text/plain; version=0.0.4", line.encode()
        if url.path == "/loki/api/v1/query_range":
            query = urllib.parse.parse_qs(url.query).get("query", [""])[0]
            return 200, "application/json", json.dumps(self.query_range(query)).encode()
        return 404, "text/plain", b"404 page not found\n"

    def query_range(self, query: str) -> dict[str, Any]:
        m = _SELECTOR.match(query)
        if m is None:
            return {"status": "error", "error": f"unsupported query {query!r}"}
        rest = query[m.end() :]
        lines, labels = [], []
        while rest.strip():
            line_filter, label_filter = _LINE_FILTER.match(rest), _LABEL_FILTER.match(rest)
            if line_filter:
                lines.append(line_filter.group(1))
                rest = rest[line_filter.end() :]
            elif label_filter:
                labels.append((label_filter.group(1), label_filter.group(2)))
                rest = rest[label_filter.end() :]
            else:
                return {"status": "error", "error": f"unsupported pipeline {rest!r}"}
        result = []
        for record in self.records():
            service = str(record.resource.get("service.name", ""))
            if m.group(1) == "=" and service != m.group(2):
                continue
            stream = {"service_name": service}
            stream.update({metadata_name(k): str(v) for k, v in record.attributes.items()})
            if record.event_name:
                stream["event_name"] = record.event_name
            line = record.body if isinstance(record.body, str) else json.dumps(record.body)
            if all(text in line for text in lines) and all(stream.get(k) == v for k, v in labels):
                result.append({"stream": stream, "values": [[str(record.time_unix_nano), line]]})
        return {"status": "success", "data": {"resultType": "streams", "result": result}}
