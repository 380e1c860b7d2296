"""Evaluations: indicator trees, band scoring of outputs, multi-party aggregation and grades.

This package so far holds the arithmetic every evaluation rests on, as plain functions; the
evaluation rounds, scoring pages and their storage build on it.
"""
