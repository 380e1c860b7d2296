"""WSGI entry point: `gunicorn wsgi:app`."""
from svcproc import create_app

app = create_app()
