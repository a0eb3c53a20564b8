"""Widgets and glue every page shares: services, feedback, media, text, the model picker."""
