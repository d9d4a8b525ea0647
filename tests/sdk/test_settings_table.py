"""The settings table is the one list: setup(), resolve(), Settings and the docs agree with it."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
from pathlib import Path

from aibos_otel.sdk import settings as settings_module
from aibos_otel.sdk.settings import SETTINGS, SettingArguments, Settings
from aibos_otel.sdk.setup import setup
from scripts import settings_table

SDK = Path(settings_module.__file__).resolve().parent
WIRING = {"metric_readers", "extra_processors"}  # setup() keywords that are not settings


def test_every_settings_field_has_exactly_one_row() -> None:
    fields = [setting.field for setting in SETTINGS]
    assert sorted(fields) == sorted(f.name for f in dataclasses.fields(Settings))


def test_setup_keywords_are_the_tables_arguments() -> None:
    arguments = {s.argument for s in SETTINGS if s.argument is not None}
    keywords = set(inspect.signature(setup).parameters) - WIRING
    assert keywords == arguments == set(SettingArguments.__annotations__)


def test_every_aibos_variable_the_sdk_reads_is_in_the_table() -> None:
    documented = {v.partition("[")[0] for s in SETTINGS for v in (*s.variables, *s.also)}
    named: set[str] = set()
    for path in SDK.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and re.fullmatch(r"AIBOS_[A-Z_]+", text):
                named.add(text)
    assert named, "the scan found no variable at all"
    assert named <= documented, named - documented


def test_the_readme_and_docs_sdk_tables_are_generated_from_it() -> None:
    for path, table in settings_table.TARGETS.items():
        text = path.read_text(encoding="utf-8")
        assert settings_table.render(text, table()) == text, f"{path}: run scripts/settings_table.py"
    for setting in SETTINGS:
        for variable in (*setting.variables, *setting.also):
            assert f"`{variable}`" in settings_table.full_table()
