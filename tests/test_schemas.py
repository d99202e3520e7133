"""The JSON schemas of the machine formats (pipelines/schemas): documented, versioned, shipped in the wheel."""

from __future__ import annotations

import zipfile

import pytest

from pipelines.schemas import load, validate
from tests.test_wheel import build_wheel

SCHEMAS = ("study.v1", "events.v1")


def _undocumented(schema: dict, path: str = "$") -> list[str]:
    """Properties without a description, anywhere in ``schema``."""
    missing = []
    for name, sub in schema.get("properties", {}).items():
        if not sub.get("description"):
            missing.append(f"{path}.{name}")
        missing += _undocumented(sub, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        missing += _undocumented(schema["items"], f"{path}[]")
    return missing


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_field_is_documented_and_the_version_is_pinned(name):
    schema = load(name)
    assert _undocumented(schema) == [] and schema["description"]
    assert schema["properties"]["schema_version"]["const"] == name
    assert "schema_version" in schema["required"] and schema["additionalProperties"] is False


def test_validator_refuses_a_schema_it_cannot_check():
    with pytest.raises(ValueError, match="patternProperties"):
        validate({}, {"type": "object", "patternProperties": {}})


def test_nan_and_booleans_are_not_numbers():
    schema = {"type": "object", "properties": {"n": {"type": "integer"}, "x": {"type": ["number", "null"]}}}
    assert validate({"n": True, "x": None}, schema) == ["$.n: bool True is not integer"]
    assert validate({"n": 1, "x": 0.5}, schema) == []
    assert validate({"n": 1, "x": float("nan")}, schema) == ["$.x: float nan is not number or null"]


@pytest.mark.slow
def test_the_wheel_ships_the_schemas(tmp_path):
    names = set(zipfile.ZipFile(build_wheel(tmp_path)).namelist())
    assert {f"pipelines/schemas/{name}.json" for name in SCHEMAS} <= names
