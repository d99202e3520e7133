"""The JSON schemas of the CLI's machine formats (``study.v1.json``: `impact study --format json`; ``events.v1.json``:
`impact events --format json`) and a validator for the subset of JSON Schema they use.

A payload names its schema in ``schema_version``; a new, incompatible layout gets a new file (``study.v2.json``)
and the old one stays, so consumers can check what they read.
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib.resources import files
from typing import Any

TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}
KEYWORDS = frozenset(
    {
        "$schema",
        "$id",
        "title",
        "description",
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "minItems",
        "minimum",
        "maximum",
        "$defs",
        "$ref",
    }
)
"""The JSON Schema keywords :func:`validate` understands; a schema using another is refused, not half-checked."""


@cache
def load(name: str) -> dict[str, Any]:
    """The schema ``name`` (e.g. ``study.v1``) shipped in this package."""
    return json.loads(files(__package__).joinpath(f"{name}.json").read_text(encoding="utf-8"))


def validate(instance: object, schema: dict[str, Any]) -> list[str]:
    """Every place where ``instance`` breaks ``schema`` (JSON-pointer-like path: what is wrong); empty when valid."""
    errors: list[str] = []
    _check(instance, schema, schema, "$", errors)
    return errors


def _is(value: object, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    if kind == "number" and isinstance(value, float) and not math.isfinite(value):
        return False  # NaN and Infinity are not JSON
    return isinstance(value, TYPES[kind])


def _check(value: object, schema: dict[str, Any], root: dict[str, Any], path: str, errors: list[str]) -> None:
    unknown = set(schema) - KEYWORDS
    if unknown:
        raise ValueError(f"schema at {path} uses keywords this validator does not check: {sorted(unknown)}")
    if "$ref" in schema:
        target = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        _check(value, target, root, path, errors)
        return
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_is(value, k) for k in kinds):
            errors.append(f"{path}: {type(value).__name__} {value!r:.60} is not {' or '.join(kinds)}")
            return
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: {value} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: {value} > {schema['maximum']}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{path}: missing {key!r}")
        properties = schema.get("properties", {})
        for key, item in value.items():
            if key in properties:
                _check(item, properties[key], root, f"{path}.{key}", errors)
            elif schema.get("additionalProperties", True) is False:
                errors.append(f"{path}: unexpected key {key!r}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{path}: fewer than {schema['minItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                _check(item, schema["items"], root, f"{path}[{i}]", errors)
