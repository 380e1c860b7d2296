"""Contracts from awards: amendments, milestones, deliverables, payments and reminders."""
