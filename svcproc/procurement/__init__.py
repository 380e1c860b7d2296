"""Procurement: community needs, project plans, tenders, sealed bids, expert scoring, awards."""
