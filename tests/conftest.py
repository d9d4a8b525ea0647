"""The root conftest of the project's tests."""

from __future__ import annotations

from importlib.metadata import entry_points

_PLUGIN = "aibos_otel.testing.pytest_plugin"

# The fixture users get through the ``pytest11`` entry point. An environment installed before
# the entry point existed (or from another checkout) lacks it: load the plugin by name then.
if not any(ep.value == _PLUGIN for ep in entry_points(group="pytest11")):
    pytest_plugins = [_PLUGIN]
