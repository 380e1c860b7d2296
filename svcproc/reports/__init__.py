"""Reports: assessment, portfolio and organization reports as verifiable PDF/A, their stored copies,
the background jobs that render them, and the auditor's desk."""
