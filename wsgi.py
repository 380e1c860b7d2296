"""WSGI entry point: `gunicorn wsgi:app`."""
from svcproc import create_app
from svcproc.core.jobs import recover_orphans_at_start

app = create_app()
# Each starting server process fails the jobs that stopped processes left running (core/jobs.py).
recover_orphans_at_start(app)
