"""The audit trail: hash-chained events written in the same transaction as the change."""
