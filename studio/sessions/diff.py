"""What changed between two steps: the prompt word by word, the negative prompt, every
parameter, the provider and model, the mask and the source image. Pure: it compares what the
page already read (GenerationView-like objects: a `generation` row, `inputs`, `masks`)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

_WORDS = re.compile(r"\S+")


@dataclass(frozen=True)
class WordChange:
    """One word of a prompt diff: `kind` is "same", "added" or "removed"."""

    kind: str
    word: str


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: its key (e.g. "prompt", "params.seed"), a label, both values."""

    key: str
    label: str
    before: str
    after: str


@dataclass
class StepDiff:
    """Every field that differs between step `a` (before) and step `b` (after)."""

    a_step: int
    b_step: int
    changes: list[FieldChange] = field(default_factory=list)
    prompt_words: list[WordChange] = field(default_factory=list)  # empty: same prompt

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.changes]

    @property
    def same(self) -> bool:
        return not self.changes


def word_diff(before: str, after: str) -> list[WordChange]:
    """`after` word by word against `before`: words kept, added and removed, in reading order."""
    a, b = _WORDS.findall(before), _WORDS.findall(after)
    out: list[WordChange] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out += [WordChange("same", w) for w in a[i1:i2]]
            continue
        out += [WordChange("removed", w) for w in a[i1:i2]]
        out += [WordChange("added", w) for w in b[j1:j2]]
    return out


def _text(value: Any) -> str:
    if value is None or value == "":
        return "–"
    return str(value)


def _first(assets: list[Any]) -> Any | None:
    return assets[0] if assets else None


def _source(view: Any, step_of: dict[str, int]) -> tuple[str | None, str]:
    """The source image's identity (its content hash) and how to name it."""
    asset = _first(view.inputs)
    if asset is None:
        return None, "none (from the prompt alone)"
    parent = view.generation.parent_generation_id
    if parent is None:
        return asset.sha256, "an uploaded image"
    number = step_of.get(parent)
    return asset.sha256, f"step {number}'s image" if number is not None else "an earlier image"


def _mask(view: Any) -> tuple[str | None, str]:
    asset = _first(view.masks)
    return (asset.sha256, "a mask") if asset is not None else (None, "none")


def diff_steps(a: Any, b: Any, step_of: dict[str, int] | None = None) -> StepDiff:
    """What changed from step `a` to step `b`. `step_of` names steps by id (for the source)."""
    ga, gb = a.generation, b.generation
    names = step_of or {}
    out = StepDiff(a.step, b.step)

    def note(key: str, label: str, before: Any, after: Any) -> None:
        if before != after:
            out.changes.append(FieldChange(key, label, _text(before), _text(after)))

    if ga.prompt != gb.prompt:
        out.prompt_words = word_diff(ga.prompt, gb.prompt)
    note("prompt", "Prompt", ga.prompt, gb.prompt)
    note("negative_prompt", "Negative prompt", ga.negative_prompt or "", gb.negative_prompt or "")
    note("provider", "Provider", ga.provider, gb.provider)
    note("model", "Model", ga.model, gb.model)
    note("mode", "Mode", ga.mode, gb.mode)
    pa, pb = ga.params or {}, gb.params or {}
    for key in sorted(set(pa) | set(pb)):
        note(f"params.{key}", key.replace("_", " ").capitalize(), pa.get(key), pb.get(key))
    (mask_a, label_a), (mask_b, label_b) = _mask(a), _mask(b)
    if mask_a != mask_b:
        if mask_a is not None and mask_b is not None:
            label_a, label_b = "a mask", "a different mask"
        out.changes.append(FieldChange("mask", "Mask", label_a, label_b))
    (src_a, name_a), (src_b, name_b) = _source(a, names), _source(b, names)
    if src_a != src_b:
        out.changes.append(FieldChange("source", "Source image", name_a, name_b))
    return out
