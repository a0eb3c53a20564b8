"""The providers' published request schemas (trimmed copies in tests/providers/schemas/).

Each vendored file names its source repository, path, commit and retrieval date under
"x-source". `validate(file, definition, instance)` returns the schema violations, most
specific first, as (json path, validator keyword, message, offending value).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


@dataclass(frozen=True)
class Violation:
    path: str  # "n", "messages.1.content.0.image_url"
    keyword: str  # the JSON Schema keyword that failed: type, enum, required, ...
    message: str
    value: Any
    extra: tuple[str, ...] = ()  # additionalProperties: the unknown names; required: the missing


@cache
def document(file: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / file).read_text())


@cache
def _validator(file: str, definition: str) -> Draft202012Validator:
    doc = document(file)
    schema = {"$ref": f"#/$defs/{definition}", "$defs": doc["$defs"]}
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _violation(error: ValidationError) -> Violation:
    path = ".".join(str(p) for p in error.absolute_path)
    extra: tuple[str, ...] = ()
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = tuple(sorted(k for k in error.instance if k not in allowed))
    elif error.validator == "required" and isinstance(error.instance, dict):
        extra = tuple(k for k in error.validator_value if k not in error.instance)
    return Violation(path, str(error.validator), error.message, error.instance, extra)


def validate(file: str, definition: str, instance: Any) -> Violation | None:
    """The most relevant violation of `definition` by `instance`, or None when it is valid."""
    error = best_match(_validator(file, definition).iter_errors(instance))
    return _violation(error) if error is not None else None


def source(file: str) -> dict[str, str]:
    """Where a vendored schema came from (repository, path, commit, retrieval date)."""
    return dict(document(file)["x-source"])
