"""Deliverable uploads through the web: size limit, type by content not name, SHA-256 recorded, kept
under a generated name (outside the web root, or in the database), and nothing left behind when the
request fails, whichever storage backend keeps the files."""
from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from flask_babel import gettext as _

from svcproc.contracts import workflow
from svcproc.contracts.models import Deliverable
from svcproc.core import files, storage
from svcproc.core.files import StoredFile
from svcproc.extensions import db
from tests.helpers import count, in_page, login

from tests.builders.contracts import in_progress_with_milestone
from tests.builders.files import pdf_bytes, png_bytes
from .conftest import db_state, uploaded_files


@pytest.fixture
def pending(clock, client):
    setup, milestone = in_progress_with_milestone(clock, "pending")
    login(client, setup.manager)
    return setup, milestone


def upload(client, milestone, *named_bytes, kind="report", title=""):
    return client.post(f"/milestones/{milestone.id}/deliverables", content_type="multipart/form-data",
                       data={"kind": kind, "title": title,
                             "files": [(io.BytesIO(data), name) for name, data in named_bytes]})


def padded_pdf(size: int) -> bytes:
    data = pdf_bytes("padded")
    return data + b"%" * (size - len(data))


def zip_bytes(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


def _stored() -> StoredFile:
    """The file of the latest deliverable."""
    item = db.session.execute(db.select(Deliverable).order_by(Deliverable.id.desc())).scalars().first()
    return item.file


def test_an_accepted_file_is_kept_under_a_generated_name(client, pending, file_storage):
    setup, milestone = pending
    data = pdf_bytes("第一季度报告")

    response = upload(client, milestone, ("第一季度报告.pdf", data))

    assert response.status_code == 303
    stored = _stored()
    assert (stored.original_name, stored.kind, stored.size, stored.purpose) == ("第一季度报告.pdf", "pdf", len(data),
                                                                              "deliverable")
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.uploaded_by_id == setup.manager.id
    assert len(stored.stored_name) == 32 and all(c in "0123456789abcdef" for c in stored.stored_name)
    assert storage.backend().read(stored.stored_name) == data
    assert files.read(stored) == data


def test_the_local_backend_keeps_it_outside_the_web_root_for_the_service_only(app, client, pending, monkeypatch):
    monkeypatch.setitem(app.config, "FILE_STORAGE", "local")
    _setup, milestone = pending
    data = pdf_bytes("第一季度报告")

    upload(client, milestone, ("第一季度报告.pdf", data))

    stored = _stored()
    [path] = [p for p in uploaded_files() if p.name == stored.stored_name]
    assert path.read_bytes() == data
    folder = Path(app.config["UPLOAD_FOLDER"]).resolve()
    assert folder in path.resolve().parents
    assert folder.is_relative_to(Path(app.config["INSTANCE_PATH"]).resolve())
    assert not path.resolve().is_relative_to(Path(app.static_folder).resolve())
    assert path.stat().st_mode & 0o777 == 0o600


def test_the_file_is_downloaded_as_uploaded(client, pending, file_storage):
    setup, milestone = pending
    data = pdf_bytes("签到表")
    upload(client, milestone, ("签到表.pdf", data))
    item = db.session.execute(db.select(Deliverable)).scalar_one()

    response = client.get(f"/milestones/{milestone.id}/deliverables/{item.id}")

    assert response.status_code == 200
    assert response.data == data
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("name, data", [
    pytest.param("照片.png", png_bytes(), id="png"),
    pytest.param("REPORT.PDF", pdf_bytes(), id="upper-case-extension"),
    pytest.param("方案.docx", zip_bytes("[Content_Types].xml", "word/document.xml"), id="docx"),
    pytest.param("台账.xlsx", zip_bytes("[Content_Types].xml", "xl/workbook.xml"), id="xlsx"),
])
def test_documents_and_images_are_accepted(client, pending, name, data):
    _setup, milestone = pending

    response = upload(client, milestone, (name, data))

    assert response.status_code == 303
    assert _stored().sha256 == hashlib.sha256(data).hexdigest()


CONTENT_MISMATCH = "%(name)s does not contain what its name says (%(ext)s); the file was refused."
WRONG_TYPE = "%(name)s: only these file types are accepted: %(types)s."


@pytest.mark.parametrize("name, data, refusal", [
    pytest.param("报告.pdf", png_bytes(), CONTENT_MISMATCH, id="png-named-pdf"),
    pytest.param("报告.pdf", b"<html><script>alert(1)</script></html>", CONTENT_MISMATCH, id="html-named-pdf"),
    pytest.param("报告.pdf", b"MZ\x90\x00\x03" + bytes(60), CONTENT_MISMATCH, id="exe-named-pdf"),
    pytest.param("照片.jpg", pdf_bytes(), CONTENT_MISMATCH, id="pdf-named-jpg"),
    pytest.param("方案.docx", zip_bytes("evil.sh"), CONTENT_MISMATCH, id="plain-zip-named-docx"),
    pytest.param("方案.docx", b"PK\x03\x04 not really a zip", CONTENT_MISMATCH, id="broken-zip-named-docx"),
    pytest.param("setup.exe", b"MZ\x90\x00\x03" + bytes(60), WRONG_TYPE, id="exe"),
    pytest.param("page.html", b"<html></html>", WRONG_TYPE, id="html"),
    pytest.param("page.html", pdf_bytes(), WRONG_TYPE, id="pdf-named-html"),
    pytest.param("report.pdf.exe", pdf_bytes(), WRONG_TYPE, id="double-extension"),
    pytest.param("README", pdf_bytes(), WRONG_TYPE, id="no-extension"),
    pytest.param("data.zip", zip_bytes("a.txt"), WRONG_TYPE, id="zip"),
])
def test_the_type_is_checked_by_content_not_by_name(client, pending, name, data, refusal):
    _setup, milestone = pending
    before = db_state()

    response = upload(client, milestone, (name, data))

    assert response.status_code == 422
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    types = ", ".join(sorted(workflow.DELIVERABLE_RULE.kinds))
    assert in_page(lambda: _(refusal, name=name, ext=ext, types=types)) in response.get_data(as_text=True)
    assert db_state() == before


@pytest.mark.parametrize("size, allowed", [(1024, True), (1025, False)], ids=["at-the-limit", "one-byte-over"])
def test_the_rules_size_limit(client, pending, monkeypatch, file_storage, size, allowed):
    _setup, milestone = pending
    monkeypatch.setattr(workflow, "DELIVERABLE_RULE", files.UploadRule(kinds=files.DOCUMENTS | files.IMAGES,
                                                                       max_bytes=1024))
    before = db_state()

    response = upload(client, milestone, ("报告.pdf", padded_pdf(size)))

    if allowed:
        assert response.status_code == 303
        assert _stored().size == 1024
    else:
        assert response.status_code == 422
        assert "报告.pdf" in response.get_data(as_text=True)
        assert db_state() == before


@pytest.mark.parametrize("size, status", [(3000, 303), (5000, 413)], ids=["under", "over"])
def test_the_apps_size_limit(app, client, pending, monkeypatch, file_storage, size, status):
    _setup, milestone = pending
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    before = db_state()

    response = upload(client, milestone, ("报告.pdf", padded_pdf(size)))

    assert response.status_code == status
    if status == 413:
        assert db_state() == before


def test_an_empty_file_is_refused(client, pending):
    _setup, milestone = pending
    before = db_state()

    response = upload(client, milestone, ("空白.pdf", b""))

    assert response.status_code == 422
    assert in_page(lambda: _("%(name)s is empty.", name="空白.pdf")) in response.get_data(as_text=True)
    assert db_state() == before


def test_no_file_is_refused(client, pending):
    _setup, milestone = pending
    before = db_state()

    response = upload(client, milestone)

    assert response.status_code == 422
    assert db_state() == before


@pytest.mark.parametrize("name", ["../../evil.pdf", "..\\..\\evil.pdf", "/etc/evil.pdf", "a/../../../evil.pdf"])
def test_a_path_in_the_filename_goes_nowhere(app, client, pending, name):
    _setup, milestone = pending
    instance = Path(app.config["INSTANCE_PATH"]).resolve()

    response = upload(client, milestone, (name, pdf_bytes("evil")))

    assert response.status_code == 303
    stored = _stored()
    assert stored.original_name.endswith("evil.pdf")
    assert "/" not in stored.original_name and "\\" not in stored.original_name
    assert stored.stored_name != "evil.pdf"
    # Nowhere in the instance folder, nor where the name would lead from the upload folder, its
    # subfolders or the instance folder (only those places: other programs use the parent folder).
    uploads = Path(app.config["UPLOAD_FOLDER"]).resolve()
    bases = [instance, uploads, *(d for d in uploads.rglob("*") if d.is_dir())]
    assert not list(instance.rglob("evil.pdf"))
    assert not any((base / part).resolve().exists() for base in bases
                   for part in (name, name.replace("\\", "/"), "evil.pdf", "../evil.pdf", "../../evil.pdf"))
    assert all(p.name != "evil.pdf" for p in uploaded_files())


def test_a_failure_after_writing_leaves_no_file_and_no_row(client, pending, file_storage):
    """The first file is written, the second refused: the request keeps neither."""
    _setup, milestone = pending
    before = db_state()

    response = upload(client, milestone, ("第一份.pdf", pdf_bytes("first")), ("第二份.pdf", png_bytes()))

    assert response.status_code == 422
    assert db_state() == before  # the upload folder included
    assert count(Deliverable) == 0


def test_several_files_in_one_request(client, pending, file_storage):
    _setup, milestone = pending

    response = upload(client, milestone, ("一.pdf", pdf_bytes("1")), ("二.png", png_bytes()))

    assert response.status_code == 303
    deliverables = db.session.execute(db.select(Deliverable).order_by(Deliverable.id)).scalars().all()
    assert [d.title for d in deliverables] == ["一.pdf", "二.png"]
    assert [files.read(d.file) for d in deliverables] == [pdf_bytes("1"), png_bytes()]


def test_an_upload_to_a_submitted_milestone_is_refused(client, clock):
    setup, milestone = in_progress_with_milestone(clock, "submitted")
    login(client, setup.manager)
    before = db_state()

    response = upload(client, milestone, ("补充.pdf", pdf_bytes()))

    assert response.status_code == 409
    assert db_state() == before
