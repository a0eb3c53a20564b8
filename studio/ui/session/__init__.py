"""Widgets of Home and the Session page: the prompt form, cards, viewer, tree, canvas."""
