"""Short human wording for times, durations and money on pages."""

from __future__ import annotations

from datetime import datetime


def ago(when: datetime | None, now: datetime) -> str:
    """'just now', '5 min ago', '3 h ago', 'yesterday', '4 days ago', or the date."""
    if when is None:
        return ""
    seconds = (now - when).total_seconds()
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min ago"
    if seconds < 86400:
        return f"{round(seconds / 3600)} h ago"
    days = int(seconds // 86400)
    if days == 1:
        return "yesterday"
    if days < 14:
        return f"{days} days ago"
    return f"{when:%Y-%m-%d}"


def duration(ms: int | float | None) -> str:
    """'850 ms', '4.2 s', '2 min 05 s'."""
    if ms is None:
        return "–"
    if ms < 1000:
        return f"{ms:.0f} ms"
    s = ms / 1000
    if s < 60:
        return f"{s:.1f} s"
    return f"{int(s // 60)} min {int(s % 60):02d} s"


def money(actual: float | None, estimate: float | None) -> str:
    """'$0.042', '≈ $0.040 (estimate)', 'free', or '–'."""
    if actual is not None:
        return "free" if actual == 0 else f"${actual:.3f}"
    if estimate is not None:
        return "free" if estimate == 0 else f"≈ ${estimate:.3f} (estimate)"
    return "–"


def plural(n: int, one: str, many: str | None = None) -> str:
    """'1 step', '3 steps' ('many' when the plural is not one + 's')."""
    return f"{n} {one if n == 1 else (many or one + 's')}"
