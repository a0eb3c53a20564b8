"""Importing this module registers every job kind's handler with the worker."""

from __future__ import annotations

import studio.sessions.job  # noqa: F401
import studio.songs.job  # noqa: F401
import studio.storyboards.jobs  # noqa: F401
