"""Fixtures for the server-side suite: the app on a migrated database, a rolled-back transaction per
test, a test client whose requests run like real ones, login, a frozen clock and a query counter.

The browser tests under tests/e2e/ bring their own fixtures; nothing here is applied to them.
"""
from __future__ import annotations

import atexit
import contextvars
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

# Before svcproc creates any app: keep the secret key, uploads and SQLite files out of the
# checkout's instance/ directory.
_INSTANCE = tempfile.mkdtemp(prefix="svcproc-tests-")
os.environ["SVCPROC_INSTANCE"] = _INSTANCE
atexit.register(shutil.rmtree, _INSTANCE, ignore_errors=True)

from argon2 import PasswordHasher  # noqa: E402

from svcproc import create_app  # noqa: E402
from svcproc.extensions import limiter_of  # noqa: E402
from svcproc.accounts import passwords  # noqa: E402
from svcproc.audit.services import append_pending  # noqa: E402
from svcproc.core import clock as app_clock  # noqa: E402
from svcproc.core import versions  # noqa: E402
from svcproc.extensions import db  # noqa: E402


E2E_DIR = Path(__file__).parent / "e2e"
# A moment in the middle of a working day in Shanghai (10:00 local), used by the clock fixture.
DEFAULT_NOW = datetime(2025, 3, 12, 2, 0, tzinfo=timezone.utc)
POSTGRES_LOCK = 740_125_001  # advisory lock: one run of this suite per PostgreSQL test database


def pytest_configure(config):
    # migrations/env.py is Flask-Migrate's stock template, which still calls db.get_engine().
    config.addinivalue_line("filterwarnings", "ignore:'get_engine' is deprecated:DeprecationWarning")


def _is_e2e(item) -> bool:
    return E2E_DIR in Path(str(item.path)).parents or item.get_closest_marker("e2e") is not None


# --- the database -------------------------------------------------------------------------------


@contextmanager
def _empty_database(tmp: Path):
    """The URL of an empty database: TEST_DATABASE_URL (schema reset) or a new SQLite file."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp / 'svcproc-test.db'}"
        return
    from svcproc.config import normalise_database_url

    url = normalise_database_url(url)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    conn = engine.connect()
    try:
        if conn.dialect.name == "postgresql":
            name = conn.execute(sa.text("SELECT current_database()")).scalar_one()
            if "test" not in name.lower():
                pytest.exit(f"TEST_DATABASE_URL names database {name!r}; refusing to wipe a database "
                            "whose name does not say it is for tests", returncode=2)
            deadline = time.monotonic() + 300
            while not conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": POSTGRES_LOCK}).scalar():
                if time.monotonic() > deadline:
                    pytest.exit(f"another test run has held database {name!r} for 5 minutes", returncode=2)
                time.sleep(1)
            conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        yield url
    finally:
        conn.close()  # ends the advisory lock
        engine.dispose()


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    """The application on an empty database whose schema the real migrations built."""
    import flask_migrate

    tmp = tmp_path_factory.mktemp("db")
    # Argon2 at production cost takes ~0.15 s per hash; the tests hash and verify hundreds of
    # times. Same algorithm and code paths, cheaper parameters.
    real_hasher = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with _empty_database(tmp) as url:
        application = create_app({
            "TESTING": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            "WTF_CSRF_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": url,
            "HTMX_CDN_URL": "",
            "SERVER_NAME": None,
            # Results pages count their figures afresh (tests/public turn the cache on to test it).
            "PUBLIC_FIGURES_CACHE_SECONDS": 0,
        })
        application.test_client_class = AppClient
        # Tests log in far more often than a person would: limits are off but for
        # tests/core/test_rate_limits.py, which turns them on.
        limiter_of(application).enabled = False
        with application.app_context():
            flask_migrate.upgrade()
            # Every query any connection runs goes through here (see `count_queries`). Registered
            # before the tests' connections exist so each one joins the engine's listeners.
            sa.event.listen(db.engine, "before_cursor_execute", _count_statement)
        try:
            yield application
        finally:
            with application.app_context():
                db.session.remove()
                db.engine.dispose()
            passwords._hasher = real_hasher


class _TestSession(sa.orm.Session):
    """A plain SQLAlchemy session (Flask-SQLAlchemy's own ignores `bind` and takes the engine)."""

    def __init__(self, db=None, **kwargs):  # noqa: ARG002 - Flask-SQLAlchemy passes db=
        super().__init__(**kwargs)


@contextmanager
def _session_on(conn):
    """db.session, for the duration, is a session bound to `conn` that joins its transaction."""
    session = db._make_scoped_session({
        "class_": _TestSession, "bind": conn, "join_transaction_mode": "create_savepoint",
    })
    original = db.session
    db.session = session
    try:
        yield session
    finally:
        session.remove()
        db.session = original


@pytest.fixture(scope="module")
def shared_connection(app):
    """One connection whose transaction spans a whole module, for data built once for many tests.

    A module opts in with `pytestmark = pytest.mark.usefixtures("shared_connection")` and builds
    its data with `build_once`; each of its tests then runs in a SAVEPOINT on this connection,
    rolled back after the test, so every test sees the module's data exactly as it was built.
    (Every test of such a module must use it: on PostgreSQL another connection would wait on the
    rows this transaction holds.)
    """
    with app.app_context():
        conn = db.engine.connect()
        trans = conn.begin()
        try:
            yield conn
        finally:
            trans.rollback()
            conn.close()


@pytest.fixture(scope="module")
def build_once(app, shared_connection):
    """build_once(builder) runs builder(clock) on the shared connection and keeps what it wrote."""

    def run(builder):
        frozen = Clock(DEFAULT_NOW)
        try:
            with app.app_context(), _session_on(shared_connection) as session:
                result = builder(frozen)
                session.commit()
                return result
        finally:
            app_clock.freeze(None)

    return run


@pytest.fixture
def db_session(app, request):
    """Run the test inside one outer transaction, rolled back afterwards.

    Every session (the test's own and each request's) is bound to one connection and joins its
    transaction through a SAVEPOINT, so a view's commit releases a savepoint and its rollback only
    undoes its own work. The audit chain head (row 1, inserted by the migration) is rolled back too.
    In a module using `shared_connection`, the test's transaction is a savepoint on that connection.
    """
    shared = "shared_connection" in request.fixturenames
    with app.app_context():
        conn = request.getfixturevalue("shared_connection") if shared else db.engine.connect()
        trans = conn.begin_nested() if shared else conn.begin()
        try:
            with _session_on(conn) as session:
                yield session
        finally:
            trans.rollback()
            if not shared:
                conn.close()


@pytest.fixture(autouse=True)
def _transaction(request):
    """Every server-side test runs in a rolled-back transaction; browser tests are left alone."""
    if _is_e2e(request.node):
        yield None
        return
    yield request.getfixturevalue("db_session")


@pytest.fixture(params=["local", "database"])
def file_storage(request, app, monkeypatch):
    """Each file storage backend in turn as FILE_STORAGE (the suite otherwise runs on the one the
    environment names); the backend's name."""
    monkeypatch.setitem(app.config, "FILE_STORAGE", request.param)
    return request.param


# --- requests -----------------------------------------------------------------------------------


class AppClient(FlaskClient):
    """A test client whose requests run the way a server runs them.

    The test itself holds an app context; Flask would reuse it for each request, sharing `g` (and
    with it Flask-Login's cached user) and the database session between the test and the request.
    Each request here runs in a fresh context instead, so it gets its own app context, `g` and
    session, like a request in production. Before a request the test's pending changes are
    flushed, its audit events placed in the chain and the kinds of data it changed given new versions
(visible to the request); afterwards the
    test's session forgets what it loaded, so the test reads what the request wrote.
    """

    def open(self, *args, buffered=True, **kwargs):
        if db.session.registry.has():
            with _not_counted():  # the test's own writes are not the request's queries
                db.session.flush()
                append_pending(db.session)
                versions.renew(db.session)  # as the test's commit would
        try:
            return contextvars.Context().run(FlaskClient.open, self, *args, buffered=buffered, **kwargs)
        finally:
            if db.session.registry.has():
                db.session.expire_all()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_client(app):
    """Another browser: a client with its own cookies."""
    return app.test_client


@pytest.fixture
def cli(app):
    """cli(args) invokes `svcproc <args>` the way the command line does (own app context)."""
    runner = app.test_cli_runner()

    def invoke(*args: str):
        if db.session.registry.has():
            with _not_counted():
                db.session.flush()
                append_pending(db.session)
        try:
            return contextvars.Context().run(runner.invoke, args=list(args))
        finally:
            if db.session.registry.has():
                db.session.expire_all()

    return invoke


# --- time ---------------------------------------------------------------------------------------


class Clock:
    """The app's clock, frozen; `advance` moves it on."""

    def __init__(self, moment: datetime):
        self.set(moment)

    def set(self, moment: datetime) -> datetime:
        app_clock.freeze(moment)
        self.now = app_clock.now()
        return self.now

    def advance(self, **delta) -> datetime:
        return self.set(self.now + timedelta(**delta))


@pytest.fixture
def clock():
    frozen = Clock(DEFAULT_NOW)
    try:
        yield frozen
    finally:
        app_clock.freeze(None)


# --- counting queries ---------------------------------------------------------------------------

_active_counters: list[list[str]] = []
_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT",
                        "ROLLBACK")


def _count_statement(conn, cursor, statement, parameters, context, executemany):
    if not _active_counters:
        return
    if statement.lstrip().upper().startswith(_TRANSACTION_CONTROL):
        return  # the test harness's savepoints are not the page's queries
    for counter in _active_counters:
        counter.append(statement)


@contextmanager
def _not_counted():
    counting = _active_counters[:]
    _active_counters.clear()
    try:
        yield
    finally:
        _active_counters[:] = counting


class CountedQueries:
    def __init__(self):
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


class QueryCounter:
    """Each `with counter() as counted:` counts into its own CountedQueries, so two of them can be
    compared afterwards (one shared list would make `few.count == many.count` always true)."""

    @contextmanager
    def __call__(self):
        counted = CountedQueries()
        _active_counters.append(counted.statements)
        try:
            yield counted
        finally:
            _active_counters.remove(counted.statements)


@pytest.fixture
def count_queries():
    """`with count_queries() as counted: ...` then `counted.count` is the number of SQL statements."""
    return QueryCounter()
