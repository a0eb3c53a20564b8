"""Widgets of the data lifecycle: the delete confirmation, Recently deleted, export and import."""
