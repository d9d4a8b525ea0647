"""Delivery: grouping of due notifications, and a channel that hangs blocks neither ingestion
nor the other channels."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

from aibos_otel.monitor.metrics import DerivedMetrics
from aibos_otel.monitor.notify.outbox import Dispatcher, Outbox, OutboxItem
from aibos_otel.monitor.server import Monitor
from aibos_otel.monitor.store import Store
from aibos_otel.policy.model import parse_policy

from .fakes import Recorder
from .otlp_builders import logs_request, record
from .test_receiver import grpc_export


def test_due_rows_of_one_rule_go_out_as_one_message(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    outbox = Outbox(store)
    with store.transaction() as db:
        for i, (rule, kind) in enumerate(
            [("a", "firing"), ("a", "firing"), ("b", "firing"), ("a", "resolved")]
        ):
            outbox.enqueue(
                db, channel="c", alert_id=str(i), kind=kind, alert={"rule": rule, "key": str(i)}, due_ns=0
            )
        outbox.enqueue(db, channel="c", alert_id="later", kind="firing", alert={"rule": "a"}, due_ns=10**18)
    batches: list[list[OutboxItem]] = []
    dispatcher = Dispatcher(outbox, {"c": batches.append}, DerivedMetrics(), clock=lambda: 1000)
    assert dispatcher.deliver_due("c") == 4
    assert sorted((b[0].alert["rule"], b[0].kind, len(b)) for b in batches) == [
        ("a", "firing", 2),
        ("a", "resolved", 1),
        ("b", "firing", 1),
    ]
    assert outbox.counts() == {"sent": 4, "pending": 1}
    store.close()


def test_resolved_waits_for_a_firing_that_is_being_retried(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    outbox = Outbox(store)
    with store.transaction() as db:
        outbox.enqueue(db, channel="c", alert_id="a1", kind="firing", alert={"rule": "r"}, due_ns=0)
    sent: list[str] = []
    down = [True]

    def sender(items: list[OutboxItem]) -> None:
        if down[0]:
            from aibos_otel.monitor.notify.outbox import DeliveryError

            raise DeliveryError("down")
        sent.extend(i.kind for i in items)

    clock = [1000]
    dispatcher = Dispatcher(outbox, {"c": sender}, DerivedMetrics(), clock=lambda: clock[0])
    assert dispatcher.deliver_due("c") == 0  # failed: retry in 1 s
    with store.transaction() as db:
        outbox.enqueue(db, channel="c", alert_id="a1", kind="resolved", alert={"rule": "r"}, due_ns=clock[0])
        outbox.enqueue(db, channel="c", alert_id="a2", kind="firing", alert={"rule": "r"}, due_ns=clock[0])
    down[0] = False
    assert dispatcher.deliver_due("c") == 1 and sent == ["firing"]  # a2 goes; a1's resolve waits
    clock[0] += 2 * 10**9
    assert dispatcher.deliver_due("c") == 2
    assert sent == ["firing", "firing", "resolved"]
    store.close()


class BlackHole:
    """Accepts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self._stop = True
        self.sock.close()
        for c in self.conns:
            c.close()


def test_a_hanging_channel_blocks_nothing(monitor_factory: Any, recorder: Recorder) -> None:
    hole = BlackHole()
    try:
        policy = parse_policy(
            f"""
channels:
  stuck: {{type: slack, url: "http://127.0.0.1:{hole.port}/slack"}}
  hook: {{type: webhook, url: "{recorder.url}/hook"}}
rules:
  - name: fatal-errors
    expr: sum by (service_name) (count_over_time({{level="fatal"}}[1m])) > 0
    channels: [stuck, hook]
""",
            env={},
        )
        monitor: Monitor = monitor_factory(policy=policy)
        assert monitor.grpc_port
        started = time.monotonic()
        for i in range(20):
            grpc_export(
                monitor.grpc_port,
                logs_request([record("boom", "fatal")], service=f"svc-{i}").SerializeToString(),
            )
        assert time.monotonic() - started < 5  # ingestion did not wait for the stuck channel
        hooks = recorder.wait_for(lambda r: r.path == "/hook", count=1)
        delivered = {
            a["labels"]["service_name"]
            for r in recorder.wait_for(lambda r: r.path == "/hook", count=len(hooks))
            for a in r.body["alerts"]
        }
        deadline = time.monotonic() + 10
        while len(delivered) < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
            delivered = {
                a["labels"]["service_name"]
                for r in recorder.requests
                if r.path == "/hook"
                for a in r.body["alerts"]
            }
        assert len(delivered) == 20
        assert monitor.outbox.counts().get("pending", 0) >= 1  # the stuck channel's rows wait, not lost
    finally:
        hole.close()
