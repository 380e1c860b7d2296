"""svcproc: tracking government-purchased social work services from need to assessment report."""
from __future__ import annotations

import secrets
from importlib.metadata import PackageNotFoundError, version as _pkg_version

import sqlalchemy as sa
from flask import Flask, g, has_request_context, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from .config import ROOT, load_config
from .extensions import babel, csrf, db, login_manager, migrate

try:
    __version__ = _pkg_version("svcproc")
except PackageNotFoundError:  # running from a checkout without an install
    __version__ = "0.0.0"


def _sqlite_transactions(engine, app) -> None:
    """Let SQLite run real transactions with savepoints (pysqlite's own handling breaks them)."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(app.config.get('SQLITE_BUSY_TIMEOUT_MS', 10000))}")
        # Readers never wait for a writer, nor a writer for readers.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        # A transaction that reads first and writes later cannot wait for another writer: SQLite
        # refuses it at once ("database is locked"). A request that may write (any but a page read)
        # takes the write lock when it begins, so concurrent saves queue (within busy_timeout) and
        # the later ones meet the version check instead of an error.
        writing = (has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")
                   and not g.get("sqlite_read_only"))
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


class BoundedIntConverter(IntegerConverter):
    def __init__(self, url_map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):  # noqa: A002
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _planner_settings(app: Flask) -> None:
    """PostgreSQL prices reading a page at random as four reads in sequence, as on a spinning disk,
    and at that price joins a page's few rows by hashing every row of the other table (the district's
    2,000 contracts for 25 red flags). A district's tables are read from memory or SSD:
    POSTGRES_RANDOM_PAGE_COST (1.1 unless set; empty leaves the server's own) is set on each
    connection as it opens, at no extra statement."""
    cost = app.config.get("POSTGRES_RANDOM_PAGE_COST")
    if not cost or not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        return
    try:
        cost = float(cost)
    except ValueError:
        raise RuntimeError(f"POSTGRES_RANDOM_PAGE_COST must be a number, not {cost!r}") from None
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    connect_args["options"] = f"{connect_args.get('options', '')} -c random_page_cost={cost}".strip()
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def create_app(overrides: dict | None = None) -> Flask:
    config = load_config(overrides)
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=config["INSTANCE_PATH"],
    )
    # An id in an address is a database integer: a 20-digit one names no record (404), rather than
    # reaching the database and failing there.
    app.url_map.converters["int"] = BoundedIntConverter
    from .core.jsonio import OrjsonProvider

    app.json = OrjsonProvider(app)
    app.config.update(config)
    app.config["VERSION"] = __version__

    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)

    _planner_settings(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    from .accounts.sessions import RenewingCookieSessions

    app.session_interface = RenewingCookieSessions()

    from .core import i18n

    babel.init_app(
        app,
        locale_selector=i18n.select_locale,
        default_translation_directories=str(ROOT / "svcproc" / "translations"),
    )

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _sqlite_transactions(db.engine, app)

    # Import models so metadata is complete for Alembic and the schema test.
    from . import models  # noqa: F401

    from .accounts import auth
    from .accounts.views import bp as accounts_bp
    from .api.token_views import bp as api_tokens_bp
    from .api.views import bp as api_bp
    from .audit.views import bp as audit_bp
    from .core import errors_web, formatting, templating, widgets
    from .core.job_views import bp as jobs_bp
    from .main import bp as main_bp
    from .monitoring.views import bp as monitoring_bp
    from .ocds.views import bp as ocds_bp
    from .contracts.views import bp as contracts_bp
    from .delivery.views import bp as delivery_bp
    from .evaluations.views import bp as evaluations_bp
    from .procurement.public_views import bp as public_bp
    from .public import views as open_views  # noqa: F401  (the notice board's routes on the public blueprint)
    from .procurement.views import bp as procurement_bp
    from .registry.views import bp as registry_bp
    from .reports.views import bp as reports_bp

    auth.init_app(app)
    formatting.init_app(app)
    templating.init_app(app)
    widgets.install()
    errors_web.init_app(app)
    app.register_blueprint(main_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(registry_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(ocds_bp)
    app.register_blueprint(procurement_bp)
    app.register_blueprint(contracts_bp)
    app.register_blueprint(delivery_bp)
    app.register_blueprint(evaluations_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(monitoring_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_tokens_bp)
    # Every view commits once, at its end, or rolls back (core/flow.py).
    from .core import flow

    flow.wrap_views(app)
    # Limits on what strangers can repeat (logging in, raising a need, verifying a report), counted
    # in Redis when REDIS_URL is set so every web host counts the same attempts. One limiter per
    # app: the limits are bound to this app's views.
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address

    limiter = app.extensions["svcproc_limiter"] = Limiter(get_remote_address, app=app)
    for endpoint, (method, limit) in app.config["RATE_LIMITS"].items():
        if endpoint in app.view_functions:
            app.view_functions[endpoint] = limiter.limit(limit, methods=[method])(app.view_functions[endpoint])
    # The API's requests are counted per token (per address without one); read at each request so
    # the setting can change without a restart of the limiter.
    from .api.web import rate_key

    limiter.limit(lambda: app.config["RATE_LIMIT_API"], key_func=rate_key)(api_bp)

    @app.before_request
    def _nonce():
        g.csp_nonce = secrets.token_urlsafe(16)
        flow.note_flashes()

    @app.after_request
    def _security_headers(response):
        nonce = getattr(g, "csp_nonce", "")
        cdn = app.config.get("HTMX_CDN_URL") or ""
        # Only the pinned htmx file of the CDN, not everything the CDN's host serves.
        cdn_file = cdn if cdn.startswith("https://") and not any(c in cdn for c in " ;,'\"") else ""
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}' {cdn_file}; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; "
            "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # The same URL answers a full page or an htmx fragment: caches must keep them apart.
        if response.mimetype == "text/html":
            response.vary.add("HX-Request")
        return response

    # Each domain's home-page panels (core/nav.py) register when their module is imported.
    from .procurement import panels as procurement_panels  # noqa: F401
    from .contracts import panels as contracts_panels  # noqa: F401
    from .delivery import panels as delivery_panels  # noqa: F401
    from .evaluations import panels as evaluations_panels  # noqa: F401
    from .accounts import panels as accounts_panels  # noqa: F401
    from .reports import panels as reports_panels  # noqa: F401
    from .monitoring import panels as monitoring_panels  # noqa: F401

    from .cli import register_commands

    register_commands(app)
    return app
