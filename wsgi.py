"""WSGI entry point: `gunicorn wsgi:app`."""
import gc

from svcproc import create_app
from svcproc.core.jobs import recover_orphans_at_start

app = create_app()
# Each starting server process fails the jobs that stopped processes left running (core/jobs.py).
recover_orphans_at_start(app)
# What start-up built (modules, models, routes, settings) lives as long as the process: set apart
# from the garbage collector, so its full collections scan what requests leave behind, not the
# whole application (one took 175 ms of a request at district scale, now a few ms).
gc.collect()
gc.freeze()
