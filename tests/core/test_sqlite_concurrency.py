"""On SQLite (the embedded default) several people saving one form at the same moment: one save
lands, the others are told someone else saved first (409) — none fails with a server error."""
from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from svcproc import create_app
from svcproc.extensions import db

# Runs outside the suite's rolled-back transaction (like the browser tests): its app has its own file.
pytestmark = pytest.mark.e2e

PEOPLE = 6
PASSWORD = "Concurrent-Passw0rd-7"


@pytest.fixture
def file_app(tmp_path, app):  # noqa: ARG001 - `app` says which database the suite runs on
    """An app of its own on a SQLite file, its schema from the migrations, outside the test transaction."""
    import flask_migrate

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite's locking is what is tested here")
    application = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "HTMX_CDN_URL": "",
                              "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'concurrent.db'}",
                              "SVCPROC_INSTANCE": str(tmp_path)})
    with application.app_context():
        flask_migrate.upgrade()
        from svcproc.accounts.services import create_user
        from svcproc.core.permissions import Role
        from svcproc.registry.models import AreaLevel
        from svcproc.registry.services import create_area

        for n in range(PEOPLE):
            create_user(None, username=f"staff{n}", role=Role.ADMIN, password=PASSWORD,
                        must_change_password=False)
        area = create_area(None, level=AreaLevel.DISTRICT, code="510107", name="武侯区", parent=None)
        db.session.commit()
        area_id = area.id
    yield application, area_id
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_simultaneous_saves_of_one_form_give_one_save_and_conflicts(file_app):
    application, area_id = file_app
    clients = []
    for n in range(PEOPLE):
        client = application.test_client()
        assert client.post("/login", data={"username": f"staff{n}", "password": PASSWORD}).status_code == 303
        clients.append(client)
    start = threading.Barrier(PEOPLE)
    statuses: list[int] = []
    errors: list[str] = []

    def save(n: int):
        start.wait()
        try:
            response = clients[n].post(f"/registry/areas/{area_id}/edit",
                                       data={"level": "district", "code": "510107", "name": f"武侯区 {n}",
                                             "parent_id": "", "version": "1"})
        except Exception as exc:  # the test client re-raises what the server would answer with a 500
            statuses.append(500)
            errors.append(repr(exc))
        else:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(PEOPLE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(statuses) == [303] + [409] * (PEOPLE - 1), errors
    with application.app_context():
        from svcproc.registry.models import Area

        area = db.session.get(Area, area_id)
        assert area.version == 2 and area.name.startswith("武侯区 ")


def test_a_lock_held_past_the_busy_timeout_is_a_message_not_a_server_error(file_app):
    """Another writer keeps the lock longer than the busy timeout: 503 with the message, nothing saved."""
    import sqlite3

    application, area_id = file_app
    application.config["SQLITE_BUSY_TIMEOUT_MS"] = 200
    with application.app_context():
        db.engine.dispose()  # new connections take the shorter timeout
    client = application.test_client()
    assert client.post("/login", data={"username": "staff0", "password": PASSWORD}).status_code == 303
    holder = sqlite3.connect(application.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"),
                             isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        response = client.post(f"/registry/areas/{area_id}/edit",
                                data={"level": "district", "code": "510107", "name": "改不了", "parent_id": "",
                                      "version": "1"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert response.status_code == 503
    assert "send it again" in response.get_data(as_text=True) or "再" in response.get_data(as_text=True)
    with application.app_context():
        from svcproc.registry.models import Area

        assert db.session.get(Area, area_id).name == "武侯区"
