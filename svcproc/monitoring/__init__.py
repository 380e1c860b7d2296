"""Procurement monitoring: red flags read from the procurement and contract record, and the
monitoring cases auditors open on a tender or contract and the bureau answers."""
