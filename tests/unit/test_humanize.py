from __future__ import annotations

from datetime import UTC, datetime, timedelta

from studio.humanize import ago, duration, money

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_ago() -> None:
    assert ago(NOW - timedelta(seconds=10), NOW) == "just now"
    assert ago(NOW - timedelta(minutes=5), NOW) == "5 min ago"
    assert ago(NOW - timedelta(hours=3), NOW) == "3 h ago"
    assert ago(NOW - timedelta(days=1, hours=2), NOW) == "yesterday"
    assert ago(NOW - timedelta(days=40), NOW) == "2026-10-12"
    assert ago(None, NOW) == ""


def test_duration_and_money() -> None:
    assert duration(850) == "850 ms" and duration(4200) == "4.2 s"
    assert duration(125_000) == "2 min 05 s" and duration(None) == "–"
    assert money(0.0421, 0.04) == "$0.042"
    assert money(None, 0.04) == "≈ $0.040 (estimate)"
    assert money(None, 0.0) == "free" and money(None, None) == "–"
