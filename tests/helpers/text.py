"""Reading what a page shows from the markdown AppTest sees: people's text is escaped there
(studio.ui.common.text.md), so tests compare the text as rendered."""

from __future__ import annotations

import re

_ESCAPED = re.compile(r"\\(.)")


def rendered(markdown: str) -> str:
    """The text of `markdown` with md()'s escapes undone (backslashes, zero-width spaces)."""
    return _ESCAPED.sub(r"\1", str(markdown)).replace("\u200b", "")
