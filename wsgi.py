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
# A page allocates some thousands of objects and frees nearly all of them by reference counting when
# it is sent; at the default threshold (700) the young generation was collected about once a page
# anyway, some 0.3 ms of it. Collected every 5,000 allocations instead, a request seldom triggers one
# (3-4 % less processor time per page at district scale; the bare route unchanged).
gc.set_threshold(5000, 20, 20)
