from collections.abc import Iterator

import pytest

from tests.lifecycle_erasure.support import RecordingLoki, serve_loki
from tests.support.otlp_receiver import GrpcReceiver


@pytest.fixture
def loki(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, RecordingLoki]]:
    """A recording Loki; the variables that add headers start unset."""
    for name in ("LOKI_TENANT", "AIBOS_LOKI_BASIC_AUTH", "AIBOS_LOKI_BEARER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    yield from serve_loki()


@pytest.fixture
def audit_receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[GrpcReceiver]:
    """Where the erase command's audit event goes: AIBOS_ENDPOINT, as for any service."""
    with GrpcReceiver() as receiver:
        monkeypatch.setenv("AIBOS_ENDPOINT", receiver.endpoint)
        monkeypatch.setenv("AIBOS_SCHEDULE_DELAY", "0.01")
        monkeypatch.delenv("AIBOS_FILE_BACKUP", raising=False)
        monkeypatch.delenv("AIBOS_ENVIRONMENT", raising=False)
        yield receiver
