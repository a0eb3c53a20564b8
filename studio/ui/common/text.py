"""People's text (prompts, titles, verses) shown through Streamlit markdown, safely."""

from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$])")


def md(text: str) -> str:
    """Text as markdown: special characters escaped, line breaks kept. A zero-width space after
    each colon keeps Streamlit from reading `:name:` as an icon or emoji."""
    return "  \n".join(
        _MD_SPECIAL.sub(r"\\\1", line).replace(":", ":\u200b") for line in text.split("\n")
    )
