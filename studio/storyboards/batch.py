"""`studio batch images FILE.json`: many storyboard image requests from one JSON file.

The file is a JSON list; each entry is a prompt object (or just a prompt string):

    [
      {"prompt": "A hero on a cliff at sunset", "scene": "<scene id>"},
      {"prompt": "Warrior portrait, silver armor", "character": "<character id>"},
      {"prompt": "Add storm clouds", "scene": "<scene id>", "edit": true},
      {"prompt": "Make it night", "source": "photos/cliff.png", "storyboard": "<id>"},
      "A lighthouse in a storm"
    ]

Fields: prompt (required); storyboard, scene, character (ids; the camelCase spellings
storyboardId / sceneId / characterId of the original queue's messages work too); source (an
image file, relative to the JSON file's folder, or an asset id) or edit: true (edit the scene's
or character's current image); provider, model, seed. Unknown fields are errors, so a typo
never files an image in the wrong place.

Every entry is checked and enqueued on its own: an invalid one is reported with its line and
skipped, the others go ahead. Each entry's idempotency key comes from its content (and how many
identical entries came before it), so running the same file twice enqueues nothing new.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from db.schema import StoryboardGeneration
from db.types import utcnow
from studio import storyboards as sb
from studio.errors import Invalid, StudioError
from studio.text import check_text

if TYPE_CHECKING:
    from studio.services import Services

ALIASES = {
    "prompt": "prompt",
    "storyboard": "storyboard",
    "storyboardId": "storyboard",
    "storyboard_id": "storyboard",
    "scene": "scene",
    "sceneId": "scene",
    "scene_id": "scene",
    "character": "character",
    "characterId": "character",
    "character_id": "character",
    "source": "source",
    "edit": "edit",
    "editMode": "edit",
    "edit_mode": "edit",
    "provider": "provider",
    "model": "model",
    "seed": "seed",
}


class MalformedFile(Invalid):
    """The file as a whole cannot be used (not JSON, not a list): nothing was enqueued."""


@dataclass(frozen=True)
class Entry:
    line: int  # 1-based line of the entry's first character
    number: int  # 1-based position in the list
    value: Any


@dataclass(frozen=True)
class Problem:
    line: int
    number: int
    message: str


@dataclass
class BatchReport:
    total: int
    enqueued: list[tuple[Entry, StoryboardGeneration]] = field(default_factory=list)
    existing: list[tuple[Entry, StoryboardGeneration]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def parse_entries(text: str) -> list[Entry]:
    """The list's entries with the line each starts on; MalformedFile says where JSON breaks."""
    decoder = json.JSONDecoder()
    try:
        decoder.decode(text)  # the whole file first: its error position is the useful one
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise MalformedFile(f"{where}: malformed JSON: {exc.msg}.") from None
    pos = _skip(text, 0)
    if pos >= len(text) or text[pos] != "[":
        raise MalformedFile(
            f"line {_line_of(text, pos)}: the file must be a JSON list of prompt objects."
        )
    entries: list[Entry] = []
    pos = _skip(text, pos + 1)
    if text[pos] == "]":
        return entries
    while True:
        value, end = decoder.raw_decode(text, pos)
        entries.append(Entry(_line_of(text, pos), len(entries) + 1, value))
        pos = _skip(text, end)
        if text[pos] == "]":
            return entries
        pos = _skip(text, pos + 1)  # the ',' (the full decode above proved the syntax)


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


@dataclass(frozen=True)
class _Request:
    prompt: str
    storyboard: str | None
    scene: str | None
    character: str | None
    source: str | None
    edit: bool
    provider: str | None
    model: str | None
    seed: int | None

    def canonical(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True, separators=(",", ":"))


def _normalise(value: Any, default_storyboard: str | None) -> _Request:
    if isinstance(value, str):
        value = {"prompt": value}
    if not isinstance(value, dict):
        raise Invalid('Each entry must be an object with a "prompt" (or a prompt string).')
    fields: dict[str, Any] = {}
    for key, item in value.items():
        name = ALIASES.get(key)
        if name is None:
            known = ", ".join(sorted({v for v in ALIASES.values()}))
            raise Invalid(f"Unknown field {key!r} (fields: {known}).")
        if name in fields:
            raise Invalid(f"The field {name!r} is given twice.")
        fields[name] = item
    for name in ("prompt", "storyboard", "scene", "character", "source", "provider", "model"):
        item = fields.get(name)
        if item is not None and not isinstance(item, str):
            raise Invalid(f"{name!r} must be a string (got {json.dumps(item)}).")
        if item is not None:
            fields[name] = check_text(
                item, what=name, limit=100_000, multiline=name in ("prompt", "source")
            )
    prompt = fields.get("prompt") or ""
    if not prompt:
        raise Invalid("The entry has no prompt.")
    if fields.get("scene") and fields.get("character"):
        raise Invalid("Give a scene or a character, not both.")
    edit = fields.get("edit", False)
    if not isinstance(edit, bool):
        raise Invalid(f"'edit' must be true or false (got {json.dumps(edit)}).")
    seed = fields.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise Invalid(f"'seed' must be a whole number (got {json.dumps(seed)}).")
    source = fields.get("source")
    if source and source.startswith(("http://", "https://")):
        raise Invalid("A source must be an image file or an asset id, not a URL.")
    return _Request(
        prompt=prompt,
        storyboard=fields.get("storyboard") or default_storyboard,
        scene=fields.get("scene") or None,
        character=fields.get("character") or None,
        source=source or None,
        edit=edit,
        provider=fields.get("provider") or None,
        model=fields.get("model") or None,
        seed=seed,
    )


def _submit(
    services: Services,
    owner_id: str,
    request: _Request,
    key: str,
    open_source: Callable[[str], sb.Source],
) -> StoryboardGeneration:
    entity_id = request.scene or request.character
    entity_kind = "scene" if request.scene else ("character" if request.character else None)
    common: dict[str, Any] = {
        "prompt": request.prompt,
        "idempotency_key": key,
        "storyboard_id": request.storyboard,
        "entity_id": entity_id,
        "entity_kind": entity_kind,
        "provider": request.provider,
        "model": request.model,
        "seed": request.seed,
    }
    if request.source:
        source = open_source(request.source)
        return sb.request_edit(services, owner_id, source=source, **common)
    if request.edit:
        if not entity_id:
            raise Invalid("'edit': true needs a scene or character whose image to edit.")
        return sb.request_edit(services, owner_id, **common)
    return sb.request_image(services, owner_id, **common)


def enqueue_images(
    services: Services,
    owner_id: str,
    entries: list[Entry],
    *,
    open_source: Callable[[str], sb.Source],
    default_storyboard: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BatchReport:
    """Check and enqueue every entry; invalid ones are reported and skipped. `open_source`
    turns an entry's `source` (a file path or an asset id) into a Source."""
    report = BatchReport(total=len(entries))
    seen: dict[str, int] = {}
    started = utcnow()
    for done, entry in enumerate(entries, start=1):
        try:
            request = _normalise(entry.value, default_storyboard)
            canonical = request.canonical()
            occurrence = seen.get(canonical, 0)
            seen[canonical] = occurrence + 1
            digest = hashlib.sha256(f"{canonical}#{occurrence}".encode()).hexdigest()
            gen = _submit(services, owner_id, request, f"batch:{digest}", open_source)
        except StudioError as err:
            report.problems.append(Problem(entry.line, entry.number, err.user_message))
        else:
            if gen.created_at < started:
                report.existing.append((entry, gen))
            else:
                report.enqueued.append((entry, gen))
        if progress is not None:
            progress(done, len(entries))
    return report
