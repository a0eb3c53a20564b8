"""Reading AppTest pages the same way on every Streamlit version the studio allows (CI runs
the page tests on the newest and on the lowest): people's text as rendered, query parameters,
images and expanders. (Segmented controls: `app.button_group`, which both versions have.)"""

from __future__ import annotations

import re
from typing import Any

_ESCAPED = re.compile(r"\\(.)")


def rendered(markdown: str) -> str:
    """The text of `markdown` with md()'s escapes undone (backslashes, zero-width spaces)."""
    return _ESCAPED.sub(r"\1", str(markdown)).replace("\u200b", "")


def query_param(app: Any, name: str) -> str | None:
    """A query parameter (a list of values in some Streamlit versions, a string in others)."""
    value = app.query_params.get(name)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def images(app: Any) -> int:
    """How many st.image elements the page drew ("imgs" in older versions)."""
    return len(app.get("image")) + len(app.get("imgs"))


def expander_labels(app: Any) -> list[str]:
    """The labels of the page's expanders (older versions list them as "status" blocks)."""
    return [str(e.label) for e in app.expander] + [str(s.label) for s in app.get("status")]
