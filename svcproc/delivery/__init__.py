"""Service delivery: the beneficiary register, service activities, ledger imports, progress and red flags."""
