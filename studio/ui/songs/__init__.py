"""Widgets of the Songs page."""
