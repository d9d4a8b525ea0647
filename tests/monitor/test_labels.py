"""OTLP -> labels, as Loki derives them."""

from __future__ import annotations

import pytest

from aibos_otel.levels import level_for
from aibos_otel.monitor.labels import environment_of, label_name, resource_labels


@pytest.mark.parametrize(
    ("number", "text", "level"),
    [
        (1, "", "trace"),
        (4, "", "trace"),
        (5, "DEBUG", "debug"),
        (9, "", "info"),
        (12, "INFO4", "info"),
        (13, "WARN", "warn"),
        (17, "ERROR", "error"),
        (20, "", "error"),
        (21, "FATAL", "fatal"),
        (24, "", "fatal"),
        (0, "WARNING", "warn"),
        (0, "Critical", "fatal"),
        (0, "err", "error"),
        (0, "", "unknown"),
        (0, "chatty", "unknown"),
        (99, "", "unknown"),
    ],
)
def test_level(number: int, text: str, level: str) -> None:
    assert level_for(number, text) == level


def test_resource_labels() -> None:
    labels = resource_labels(
        [
            ("service.name", "api"),
            ("service.namespace", "shop"),
            ("deployment.environment.name", "prod"),
            ("k8s.pod.name", "api-7f"),
            ("host.arch", "amd64"),
            ("process.pid", 42),
            ("feature.on", True),
            ("tags", ["a", "b"]),
            ("weird-key/x", "v"),
            ("1st", "x"),
        ]
    )
    assert labels == {
        "service_name": "api",
        "service_namespace": "shop",
        "deployment_environment_name": "prod",
        "k8s_pod_name": "api-7f",
        "host_arch": "amd64",
        "process_pid": "42",
        "feature_on": "true",
        "weird_key_x": "v",
        "key_1st": "x",
    }
    assert resource_labels([])["service_name"] == "unknown_service"
    assert label_name("deployment.environment") == "deployment_environment"  # the older convention
    # Prometheus' OTLP translator, which Loki uses: letters (any script) and digits stay
    assert [label_name(k) for k in ("_private", "__meta", "région.nom", "9lives", "a-b.c")] == [
        "key_private",
        "__meta",
        "région_nom",
        "key_9lives",
        "a_b_c",
    ]
    assert label_name("deployment.environment.name") == "deployment_environment_name"  # as Loki 3 names it
    assert environment_of({"deployment_environment_name": "prod", "deployment_environment": "old"}) == "prod"
    assert environment_of({"deployment_environment": "old"}) == "old" and environment_of({}) == ""
