"""Indicator template pages: administrators keep versioned templates; others read them."""
from __future__ import annotations
