"""Widgets of the Storyboards page."""
