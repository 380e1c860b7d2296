"""Shared building blocks: base types, permissions, errors, clock, htmx and formatting helpers."""
