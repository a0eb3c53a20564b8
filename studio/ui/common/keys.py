"""Widget keys that follow their widget's default.

A keyed widget keeps what it holds across reruns and ignores a later `value=`: after a scene's
description is edited, a prompt box keyed by the scene alone would still show the old prompt.
`following(key, default)` names the widget after its default too, so a new default makes a new
widget that shows it (what the person typed into the old one is dropped, as the default it
started from is gone)."""

from __future__ import annotations

import hashlib


def following(key: str, *defaults: object) -> str:
    """`key`, made specific to `defaults`."""
    digest = hashlib.blake2b(repr(defaults).encode(), digest_size=6).hexdigest()
    return f"{key}@{digest}"
