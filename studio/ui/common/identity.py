"""Who is acting: the demo's single user until sign-in is configured."""

from __future__ import annotations

from studio.config import DEMO_OWNER


def current_owner() -> str:
    """The owner id every service call on a page acts as."""
    return DEMO_OWNER
