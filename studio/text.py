"""People's text — prompts, titles, names, descriptions, tags, verses — checked one way
everywhere before anything is stored.

A text must be valid Unicode (a JSON file can carry a lone surrogate such as "\\ud800", which no
database accepts), hold no control characters (line breaks and tabs only in texts that may span
lines), and fit its limit. Each refusal says what is wrong and where, so the person can fix it.
"""

from __future__ import annotations

import re
import unicodedata

from studio.errors import Invalid

MAX_TITLE_CHARS = 200
MAX_NAME_CHARS = 200

_SPACES = re.compile(r"\s+")


def _forbidden(allowed: frozenset[str]) -> re.Pattern[str]:
    """Control characters (C0, DEL, C1) except `allowed`, and lone surrogates."""
    controls = [chr(c) for c in range(0xA0) if unicodedata.category(chr(c)) == "Cc"]
    banned = "".join(re.escape(c) for c in controls if c not in allowed)
    return re.compile(f"[{banned}\ud800-\udfff]")


# In a text that may span lines: line breaks and tabs. In a one-line text, every control that is
# white space (it becomes one space).
_FORBIDDEN_MULTILINE = _forbidden(frozenset("\n\r\t"))
_FORBIDDEN_ONE_LINE = _forbidden(frozenset(c for c in map(chr, range(0xA0)) if c.isspace()))


def _where(text: str, index: int, multiline: bool) -> str:
    if not multiline:
        return ""
    return f" on line {text[:index].count(chr(10)) + 1}"


def check_text(
    value: object,
    *,
    what: str,
    limit: int,
    multiline: bool = False,
    empty: str | None = None,
) -> str:
    """The text, trimmed (and, unless `multiline`, with runs of white space made one space).

    `what` names it in messages ("prompt", "title"); `empty` is the message for a missing text
    (None: an empty text is allowed). Raises Invalid for text that is not valid Unicode, holds a
    control character, or is longer than `limit` characters."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"The {what} must be text.")
    text = value.strip() if multiline else _SPACES.sub(" ", value).strip()
    if not text:
        if empty is not None:
            raise Invalid(empty)
        return ""
    if len(text) > limit:
        raise Invalid(f"The {what} is {len(text):,} characters; the limit is {limit:,}.")
    bad = (_FORBIDDEN_MULTILINE if multiline else _FORBIDDEN_ONE_LINE).search(value)
    if bad is not None:
        char = bad.group()
        kind = (
            "something that is not valid text"
            if 0xD800 <= ord(char) <= 0xDFFF
            else "a control character"
        )
        raise Invalid(
            f"The {what} contains {kind} (U+{ord(char):04X})"
            f"{_where(value, bad.start(), multiline)}; remove it and try again."
        )
    return text
