"""Rebuild the vendored request-schema subsets in this folder from the providers' specs.

Usage (the specs are not in this repository; fetch them first):
    python tests/providers/schemas/trim.py openai  path/to/openai-openapi/openapi.yaml COMMIT DATE
    python tests/providers/schemas/trim.py openrouter path/to/in.openapi.yaml COMMIT DATE

The subset keeps the named request schemas and everything they reference, drops descriptions
and examples, and turns the specs' OpenAPI dialect into plain JSON Schema (2020-12):
`nullable: true` → a "null" type, `#/components/schemas/X` → `#/$defs/X`. The request schemas
are closed (`additionalProperties: false`): a field we did not vendor is refused, which is
stricter than (never more lenient than) the published schema.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
DROP = {"description", "example", "examples", "x-oaiMeta", "x-oaiTypeLabel", "x-stainless-const"}

TARGETS = {
    "openai": {
        "file": "openai_images.json",
        "repo": "github.com/openai/openai-openapi",
        "path": "openapi.yaml",
        "roots": ["CreateImageRequest", "CreateImageEditRequest", "ErrorResponse"],
        "closed": ["CreateImageRequest", "CreateImageEditRequest"],
        "keep": None,
    },
    "openrouter": {
        "file": "openrouter_chat.json",
        "repo": "github.com/OpenRouterTeam/typescript-sdk (OpenRouter's published spec, "
        "also served at https://openrouter.ai/openapi.yaml)",
        "path": ".speakeasy/in.openapi.yaml",
        "roots": ["ChatRequest", "BadRequestResponse"],
        "closed": ["ChatRequest"],
        # ChatRequest fields the studio may send; the others are left out of the subset.
        "keep": {
            "ChatRequest": [
                "messages",
                "model",
                "modalities",
                "image_config",
                "session_id",
                "seed",
                "user",
                "metadata",
                "max_tokens",
                "temperature",
                "stream",
            ]
        },
    },
}


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _convert(v) for k, v in node.items() if k not in DROP and k != "nullable"}
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/$defs/")
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        elif "anyOf" in out:
            out["anyOf"] = [*out["anyOf"], {"type": "null"}]
    return out


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def trim(which: str, spec_path: str, commit: str, date: str) -> Path:
    target = TARGETS[which]
    schemas = yaml.safe_load(Path(spec_path).read_text())["components"]["schemas"]
    defs: dict[str, Any] = {}
    todo = list(target["roots"])
    while todo:
        name = todo.pop()
        if name in defs:
            continue
        schema = dict(schemas[name])
        keep = (target["keep"] or {}).get(name)
        if keep:
            schema["properties"] = {k: v for k, v in schema["properties"].items() if k in keep}
        if name in target["closed"]:
            schema["additionalProperties"] = False
        defs[name] = _convert(schema)
        found: set[str] = set()
        _refs(defs[name], found)
        todo.extend(sorted(found - defs.keys()))
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "x-source": {
            "repository": target["repo"],
            "path": target["path"],
            "commit": commit,
            "retrieved": date,
            "trimmed_by": "tests/providers/schemas/trim.py",
        },
        "$defs": dict(sorted(defs.items())),
    }
    out = HERE / target["file"]
    out.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n")
    return out


if __name__ == "__main__":
    print(trim(*sys.argv[1:5]))
