"""Browser-test fixtures: the app served from its own database on a free port, and Chromium.

Self-contained on purpose: nothing here relies on tests/conftest.py, and every fixture name is
distinct (`live_server`, `chromium_browser`, `browser_page`, ...) so the two sets can live side by side.
"""
from __future__ import annotations

import os
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from .helpers import DEMO_PASSWORD, REPORT, set_up_context

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

SECRET_KEY = "e2e-fixed-secret-key-not-for-production"
LOCK_WAIT_SECONDS = 180


def pytest_terminal_summary(terminalreporter):
    if REPORT:
        terminalreporter.section("e2e timings")
        for line in REPORT:
            terminalreporter.write_line(line)


@dataclass
class LiveServer:
    url: str
    app: object
    ids: dict = field(default_factory=dict)
    password: str = DEMO_PASSWORD

    def __call__(self, path: str = "/") -> str:
        return self.url + path

    @contextmanager
    def db_session(self):
        """A fresh session in the test thread, for asserting what the server did."""
        from svcproc.extensions import db

        with self.app.app_context():
            try:
                yield db.session
            finally:
                db.session.rollback()


# --- the database -------------------------------------------------------------------------------


@contextmanager
def _postgres_database(base_url: str):
    """A database named after TEST_DATABASE_URL plus `_e2e`, created if missing, schema reset.

    A session-long advisory lock on the server keeps two e2e runs (say, two engineers' `make
    test-postgres`) from resetting the schema under each other.
    """
    import psycopg
    from psycopg import sql

    url = sa.engine.make_url(base_url)
    if "test" not in (url.database or "").lower():
        pytest.exit(f"TEST_DATABASE_URL names database {url.database!r}; the e2e suite only resets "
                    "databases whose name says they are for tests", returncode=2)
    name = f"{url.database}_e2e"
    params = {k: v for k, v in dict(host=url.host, port=url.port, user=url.username,
                                    password=url.password).items() if v is not None}
    admin = psycopg.connect(dbname="postgres", autocommit=True, **params)
    try:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while not admin.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (name,)).fetchone()[0]:
            if time.monotonic() > deadline:
                pytest.fail(f"another e2e run has held database {name} for {LOCK_WAIT_SECONDS}s")
            time.sleep(1)
        if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        # Connections a killed earlier run left behind would block the schema reset.
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        with psycopg.connect(dbname=name, autocommit=True, **params) as conn:
            conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
            conn.execute("CREATE SCHEMA public")
        yield url.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    finally:
        admin.close()  # ends the advisory lock too


@contextmanager
def _database_url(tmp: Path):
    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        with _postgres_database(base) as url:
            yield url
    else:
        yield f"sqlite:///{tmp / 'e2e.db'}"


def _build_app(database_url: str, instance: Path):
    from svcproc import create_app

    previous = os.environ.get("SVCPROC_INSTANCE")
    os.environ["SVCPROC_INSTANCE"] = str(instance)
    try:
        from svcproc.extensions import limiter_of

        application = create_app({
            "TESTING": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            "SECRET_KEY": SECRET_KEY,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": True,
            "SERVER_NAME": None,
        })
        limiter_of(application).enabled = False  # a browser run logs in far more often than a person
        return application
    finally:
        # Other suites in the same pytest run read this variable too; don't leak ours.
        if previous is None:
            os.environ.pop("SVCPROC_INSTANCE", None)
        else:
            os.environ["SVCPROC_INSTANCE"] = previous


def _load_schema_and_demo(app) -> dict:
    """Real migrations, the demo dataset, and the ids the tests navigate to.

    On top of the demo, three things the demo has no example of: a tender whose bids are opened and
    whose panel is at work, a need still waiting for a decision, and an open objection.
    """
    import flask_migrate

    from svcproc.accounts.models import User
    from svcproc.demo import load_demo
    from svcproc.extensions import db
    from svcproc.registry.models import Organization, SocialWorker

    with app.app_context():
        flask_migrate.upgrade()
        load_demo(DEMO_PASSWORD)
        db.session.commit()

        def one(stmt):
            return db.session.execute(stmt).unique().scalar_one()

        ids = {
            "org_yangguang": one(sa.select(Organization.id).where(Organization.name.contains("阳光"))),
            "worker": one(sa.select(SocialWorker.id).where(SocialWorker.name == "周婷")),
            "user_orgmanager": one(sa.select(User.id).where(User.username == "orgmanager")),
        }
        ids.update(_procurement_ids(one))
        ids["tender_opened"] = _add_opened_tender()
        ids["need_submitted"] = _add_submitted_need()
        _add_open_objection(ids["tender_publicity"])
        # Contracts and service logs: the demo's, plus an award waiting for its contract and a draft.
        from .contract_world import add_contract_world, contract_ids

        ids.update(contract_ids())
        ids.update(add_contract_world())
        # Evaluations: a contract with a known log to evaluate, our own evaluators, a round being
        # prepared, a draft template, and the demo's finalized and running evaluations.
        from .evaluation_world import add_evaluation_world

        ids.update(add_evaluation_world())
        db.session.commit()
        db.session.remove()
        db.engine.dispose()  # the server's threads open their own connections
    return ids


def _procurement_ids(one) -> dict:
    """The demo's tenders by stage, and the pages around them the tests open."""
    from svcproc.accounts.models import User
    from svcproc.procurement.models import Bid, CommunityNeed, ProjectPlan, Tender, TenderStatus

    def tender(status: TenderStatus, nth: int = 0) -> int:
        return sa.select(Tender.id).where(Tender.status == status).order_by(Tender.id).offset(nth).limit(1)

    orgmanager_org = one(sa.select(User.organization_id).where(User.username == "orgmanager"))
    tender_open = one(tender(TenderStatus.PUBLISHED))
    return {
        "tender_open": tender_open,                                   # bidding runs (youth plan)
        "tender_draft": one(tender(TenderStatus.DRAFT)),              # the family plan's draft
        "tender_publicity": one(tender(TenderStatus.IN_PUBLICITY)),   # objections possible
        "tender_awarded": one(tender(TenderStatus.AWARDED)),          # the first awarded tender
        "plan": one(sa.select(ProjectPlan.id).order_by(ProjectPlan.id).limit(1)),
        "need_receipt": one(sa.select(CommunityNeed.receipt_code).order_by(CommunityNeed.id).limit(1)),
        "bid_open_orgmanager": one(sa.select(Bid.id).where(Bid.tender_id == tender_open,
                                                           Bid.organization_id == orgmanager_org)),
    }


def _add_submitted_need() -> int:
    """A need still waiting for the bureau's decision (every demo need has been decided)."""
    from svcproc.extensions import db
    from svcproc.procurement import needs as need_services
    from svcproc.procurement.models import ServiceCategory
    from svcproc.registry.models import Area

    community = db.session.execute(sa.select(Area).where(Area.code == "510107001002")).unique().scalar_one()
    return need_services.submit_need(community=community, category=ServiceCategory.ELDERLY,
                                     description="小区没有电梯，行动不便的老人下楼困难，希望有助行和陪护志愿服务。",
                                     contact_name="陈阿姨", contact_phone="13900006666").id


def _add_open_objection(tender_id: int) -> None:
    """orgmanager2 objects to the demo's proposed award in publicity, so the bureau's tender page
    has an objection to answer (orgmanager, who bid too, can still object)."""
    from svcproc.accounts.models import User
    from svcproc.extensions import db
    from svcproc.procurement import workflow
    from svcproc.procurement.models import Tender

    manager = db.session.execute(sa.select(User).where(User.username == "orgmanager2")).unique().scalar_one()
    workflow.file_objection(manager, db.session.get(Tender, tender_id),
                            "我单位认为中标候选人的同类项目业绩证明材料不完整，请予复核。", [])


def _add_opened_tender() -> int:
    """A tender whose bids were opened days ago and whose panel is at work: `expert` has not made
    the conflict declaration, `expert2` has declared and given two scores, `expert3` has not
    declared (the phone test declares and scores as expert3). The demo has no tender in this stage.

    Built with the services, as the demo is, with the clock moved through its dates.
    """
    from datetime import timedelta
    from decimal import Decimal

    from svcproc.accounts.models import User
    from svcproc.core import clock
    from svcproc.demo.procurement import CRITERIA, TARGETS_FAMILY, _pdf
    from svcproc.extensions import db
    from svcproc.procurement import needs as need_services
    from svcproc.procurement import workflow
    from svcproc.procurement.models import ServiceCategory, TenderMethod
    from svcproc.registry.models import Area, OrgRating

    def user(name: str) -> User:
        return db.session.execute(sa.select(User).where(User.username == name)).unique().scalar_one()

    day = timedelta(days=1)
    previous = clock.frozen()
    now = clock.now()
    published = now - 28 * day
    try:
        clock.freeze(published - day)
        staff = user("procurement")
        community = db.session.execute(sa.select(Area).where(Area.code == "510107002003")).unique().scalar_one()
        plan = need_services.create_plan(
            staff, fiscal_year=clock.to_local(now).year, title="高升桥社区困境家庭支持服务项目",
            category=ServiceCategory.FAMILY, budget_fen=220_000_00, description="困境家庭个案跟进与资源链接。",
            communities=[community], needs=[], targets=TARGETS_FAMILY)
        tender = workflow.create_tender(
            staff, plan, title=plan.title, method=TenderMethod.PUBLIC_TENDER, ceiling_fen=plan.budget_fen,
            min_rating=OrgRating.A3, price_weight=Decimal(20), description="服务内容：困境家庭个案跟进与资源链接。",
            clarification_deadline=published + 10 * day, bid_deadline=published + 21 * day,
            opening_at=published + 21 * day + timedelta(hours=1), publicity_days=5)
        workflow.set_criteria(staff, tender, [{"name": n, "weight": w, "description": d} for n, w, d in CRITERIA])
        workflow.add_tender_document(staff, tender, _pdf(f"{tender.number}招标文件"), "招标文件")
        # A public tender's panel: five experts, seated before the publication.
        members = {name: workflow.assign_expert(staff, tender, user(name))
                   for name in ("expert", "expert2", "expert3", "expert4", "expert5")}
        clock.freeze(published)
        workflow.publish_tender(staff, tender)
        for n, (manager, price) in enumerate((("orgmanager", 210_000_00), ("orgmanager2", 198_000_00),
                                              ("orgmanager3", 205_000_00))):
            clock.freeze(published + 2 * day + n * timedelta(hours=3))
            workflow.submit_bid(user(manager), tender, price_fen=price, declaration="我单位承诺投标文件真实、完整。",
                                declaration_accepted=True, uploads=[_pdf(f"{manager}投标文件")])
        clock.freeze(tender.opening_at + timedelta(minutes=5))
        workflow.open_bids(staff, tender)
        clock.freeze(tender.opening_at + timedelta(hours=2))
        expert2 = user("expert2")
        workflow.declare_conflicts(expert2, members["expert2"], [], "")
        first_bid = workflow.scorable_bids(tender)[0]
        for criterion in tender.criteria[:2]:
            workflow.save_score(expert2, members["expert2"], first_bid, criterion, Decimal(criterion.weight) - 2, "")
        return tender.id
    finally:
        clock.freeze(previous)


# --- the server ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_server():
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):
            pass

    with tempfile.TemporaryDirectory(prefix="svcproc-e2e-") as tmp, _database_url(Path(tmp)) as db_url:
        instance = Path(tmp) / "instance"
        started = time.monotonic()
        app = _build_app(db_url, instance)
        ids = _load_schema_and_demo(app)
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
        thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
        thread.start()
        REPORT.append(f"live server ({app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}) ready in "
                      f"{time.monotonic() - started:.1f}s at http://127.0.0.1:{server.server_port}")
        try:
            yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app, ids=ids)
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
            from svcproc.extensions import db

            with app.app_context():
                db.session.remove()
                db.engine.dispose()


# --- the browser --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def chromium_browser(playwright_instance):
    """Debian's Chromium, launched once for the whole run."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM} (make install puts it there)")
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.fixture
def new_browser_context(chromium_browser, live_server):
    """Factory for fresh browser contexts (own cookies), closed after the test."""
    contexts = []

    def make(**kwargs):
        kwargs.setdefault("base_url", live_server.url)
        context = chromium_browser.new_context(**kwargs)
        set_up_context(context, live_server)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def browser_page(new_browser_context):
    """A page in a fresh context with the real Content-Security-Policy in force."""
    return new_browser_context().new_page()


@pytest.fixture(scope="module")
def role_pages(chromium_browser, live_server):
    """One logged-in page per (person, screen), shared by a module's tests: `role_pages(who, screen,
    lang)` sets the language cookie before handing the page over. axe-core is injected into every
    document the page loads."""
    from .helpers import AXE_JS, SCREENS, login

    pages, contexts = {}, []

    def get(who: str, screen: str, lang: str):
        key = (who, screen)
        if key not in pages:
            context = chromium_browser.new_context(base_url=live_server.url, bypass_csp=True, **SCREENS[screen])
            set_up_context(context, live_server)
            context.add_init_script(path=str(AXE_JS))
            contexts.append(context)
            page = context.new_page()
            login(page, who)
            pages[key] = page
        pages[key].context.add_cookies([{"name": "svcproc_lang", "value": lang, "url": live_server.url}])
        return pages[key]

    yield get
    for context in contexts:
        context.close()
