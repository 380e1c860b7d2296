"""File storage: both backends keep, read, stream and delete files under generated names, leave nothing
behind a rolled-back transaction and keep encrypted files encrypted; with the database backend a file
stored through one web host is read through another; `svcproc files move` copies every file across."""
from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from werkzeug.datastructures import FileStorage

from svcproc import create_app
from svcproc.config import load_config
from svcproc.contracts.models import Deliverable
from svcproc.core import crypto, files, storage
from svcproc.core.errors import ValidationError
from svcproc.core.files import StoredFile
from svcproc.core.storage import FileChunk
from svcproc.delivery import ledger
from svcproc.extensions import db
from tests.conftest import AppClient
from tests.builders.contracts import in_progress_with_milestone
from tests.builders.files import pdf_bytes, png_bytes
from tests.helpers import count, login

PURPOSE = "test-files"
ANY_KIND = files.UploadRule(kinds=files.DOCUMENTS | files.IMAGES | files.LEDGERS)


def _store(data: bytes = b"", name: str = "报告.pdf", *, rule=ANY_KIND, encrypt: str | None = None) -> StoredFile:
    return files.store(FileStorage(io.BytesIO(data or pdf_bytes("报告")), filename=name), purpose="test", rule=rule,
                       encrypt_purpose=encrypt)


def _kept(app) -> tuple[list[str], int]:
    """The files in the upload folder and the chunk rows in the database."""
    folder = Path(app.config["UPLOAD_FOLDER"])
    on_disk = sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
    return on_disk, count(FileChunk)


# --- one backend at a time ----------------------------------------------------------------------


def test_a_file_is_put_read_and_deleted_under_a_generated_name(file_storage):
    kept = storage.backend()

    name = kept.put(b"hello")

    assert re.fullmatch("[0-9a-f]{32}", name)
    assert kept.exists(name) and kept.read(name) == b"hello"
    kept.delete(name)
    assert not kept.exists(name)
    with pytest.raises(FileNotFoundError):
        kept.read(name)
    with pytest.raises(FileNotFoundError):
        kept.open(name)


def test_a_name_is_written_once(file_storage):
    kept = storage.backend()
    name = kept.put(b"first")

    with pytest.raises(FileExistsError):
        kept.put(b"second", name=name)

    assert kept.read(name) == b"first"


@pytest.mark.parametrize("name", ["../../etc/passwd", "ab/cd", "", "x" * 65, "报告", "a.pdf"])
def test_only_generated_names_are_accepted(file_storage, name):
    with pytest.raises(ValueError):
        storage.backend().read(name)
    with pytest.raises(ValueError):
        storage.backend().put(b"x", name=name)


def test_a_stream_reads_and_seeks_across_chunks(file_storage, monkeypatch):
    monkeypatch.setattr(storage, "CHUNK_BYTES", 1000)
    data = bytes(range(256)) * 20  # 5,120 bytes: six chunks in the database
    kept = storage.backend()
    name = kept.put(data)

    with kept.open(name) as stream:
        assert stream.read(10) == data[:10]
        stream.seek(995)
        assert stream.read(10) == data[995:1005]
        stream.seek(-20, io.SEEK_END)
        assert stream.read() == data[-20:]
        assert stream.tell() == len(data)
        stream.seek(0)
        assert stream.read() == data


def test_the_database_backend_keeps_a_file_as_chunks(app, monkeypatch):
    monkeypatch.setitem(app.config, "FILE_STORAGE", "database")
    monkeypatch.setattr(storage, "CHUNK_BYTES", 1000)

    name = storage.backend().put(bytes(2500))

    rows = db.session.execute(sa.select(FileChunk.position, sa.func.length(FileChunk.data))
                              .where(FileChunk.stored_name == name).order_by(FileChunk.position)).all()
    assert [tuple(r) for r in rows] == [(0, 1000), (1, 1000), (2, 500)]


def test_the_database_backend_streams_one_chunk_at_a_time(app, monkeypatch, count_queries):
    monkeypatch.setitem(app.config, "FILE_STORAGE", "database")
    monkeypatch.setattr(storage, "CHUNK_BYTES", 1000)
    name = storage.backend().put(bytes(5000))

    with count_queries() as start, storage.backend().open(name) as stream:
        stream.read(10)
    with count_queries() as whole, storage.backend().open(name) as stream:
        stream.read()

    assert start.count == 2   # the chunk sizes, then the first chunk
    assert whole.count == 1 + 5


def test_a_workbook_is_read_from_a_stream(file_storage, monkeypatch):
    monkeypatch.setattr(storage, "CHUNK_BYTES", 1024)
    rows = [["编号", "名称"]] + [[i, f"第{i}行的内容"] for i in range(1, 300)]
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    stored = _store(buffer.getvalue(), "台账.xlsx")

    with files.stream(stored) as source:
        read = [cells for _n, cells in ledger.iter_rows(source, "xlsx")]

    assert stored.size > 3 * 1024  # the zip directory at the end is read by seeking there
    assert read == rows


def test_a_gb18030_csv_is_read_from_a_stream(file_storage):
    rows = [["受访群体", "是否满意"], ["老年人", "满意"], ["儿童", "不满意"]]
    stored = _store("\r\n".join(",".join(r) for r in rows).encode("gb18030"), "问卷.csv")

    with files.stream(stored) as source:
        read = [cells for _n, cells in ledger.iter_rows(source, "csv")]

    assert read == rows


# --- through files.store: transactions, limits, encryption ---------------------------------------


def test_a_rolled_back_transaction_leaves_no_file(app, file_storage):
    before = _kept(app)
    stored = _store()
    name = stored.stored_name
    assert storage.backend().exists(name)

    db.session.rollback()

    assert not storage.backend().exists(name)
    assert _kept(app) == before
    assert count(StoredFile, StoredFile.stored_name == name) == 0


def test_a_committed_file_outlives_a_later_rollback(file_storage):
    stored = _store(pdf_bytes("保留"))
    file_id, name = stored.id, stored.stored_name
    db.session.commit()
    _store(pdf_bytes("撤销"))

    db.session.rollback()

    assert storage.backend().exists(name)
    assert files.read(db.session.get(StoredFile, file_id)) == pdf_bytes("保留")


@pytest.mark.parametrize("size, allowed", [(1024, True), (1025, False)], ids=["at-the-limit", "one-byte-over"])
def test_the_size_limit(app, file_storage, size, allowed):
    data = pdf_bytes("大小")
    data += b"%" * (size - len(data))
    rule = files.UploadRule(kinds=frozenset({"pdf"}), max_bytes=1024)
    before = _kept(app), count(StoredFile)

    if allowed:
        assert files.read(_store(data, rule=rule)) == data
        return
    with force_locale("en"), pytest.raises(ValidationError, match="larger than the allowed"):
        _store(data, rule=rule)
    assert (_kept(app), count(StoredFile)) == before


def test_an_encrypted_file_is_kept_as_ciphertext_and_read_with_its_purpose(file_storage):
    plain = pdf_bytes("SECRET-MARKER")

    stored = _store(plain, encrypt=PURPOSE)

    kept = storage.backend().read(stored.stored_name)
    assert b"SECRET-MARKER" not in kept and not kept.startswith(b"%PDF")
    assert (stored.encrypted, stored.size, stored.sha256) == (True, len(plain), hashlib.sha256(plain).hexdigest())
    assert files.read(stored, decrypt_purpose=PURPOSE) == plain
    with files.stream(stored, decrypt_purpose=PURPOSE) as stream:
        assert stream.read() == plain
    with pytest.raises(PermissionError):
        files.read(stored)
    with pytest.raises(PermissionError):
        files.stream(stored)
    with pytest.raises(crypto.DecryptionError):
        files.read(stored, decrypt_purpose="another purpose")


# --- the setting --------------------------------------------------------------------------------


def test_the_setting_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("FILE_STORAGE", raising=False)
    assert load_config()["FILE_STORAGE"] == "local"
    monkeypatch.setenv("FILE_STORAGE", "database")
    assert load_config()["FILE_STORAGE"] == "database"
    monkeypatch.setenv("FILE_STORAGE", "s3")
    with pytest.raises(RuntimeError, match="FILE_STORAGE"):
        load_config()


# --- two web hosts on one database --------------------------------------------------------------


@pytest.fixture(scope="module")
def other_host(app, tmp_path_factory):
    """A second web host: the same database (and keys), an upload folder of its own."""
    host = create_app({
        "TESTING": True, "WTF_CSRF_ENABLED": False, "HTMX_CDN_URL": "", "SERVER_NAME": None,
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "UPLOAD_FOLDER": str(tmp_path_factory.mktemp("other-host-uploads")),
    })
    host.test_client_class = AppClient
    yield host
    with host.app_context():
        db.engine.dispose()


def _upload_on_one_host(app, other_host, clock, backend, monkeypatch):
    """A deliverable uploaded through `app`; the URL it is downloaded from and both hosts' clients."""
    monkeypatch.setitem(app.config, "FILE_STORAGE", backend)
    monkeypatch.setitem(other_host.config, "FILE_STORAGE", backend)
    assert app.config["UPLOAD_FOLDER"] != other_host.config["UPLOAD_FOLDER"]
    setup, milestone = in_progress_with_milestone(clock, "pending")
    host_a, host_b = app.test_client(), other_host.test_client()
    login(host_a, setup.manager)
    login(host_b, setup.manager)
    response = host_a.post(f"/milestones/{milestone.id}/deliverables", content_type="multipart/form-data",
                           data={"kind": "report", "title": "",
                                 "files": [(io.BytesIO(pdf_bytes("两台主机")), "报告.pdf")]})
    assert response.status_code == 303
    item = db.session.execute(sa.select(Deliverable)).scalar_one()
    return f"/milestones/{milestone.id}/deliverables/{item.id}", host_a, host_b


def test_with_the_database_backend_another_host_serves_the_file(app, other_host, clock, monkeypatch):
    url, _host_a, host_b = _upload_on_one_host(app, other_host, clock, "database", monkeypatch)

    response = host_b.get(url)

    assert response.status_code == 200
    assert response.data == pdf_bytes("两台主机")


def test_with_the_local_backend_only_the_host_that_took_the_upload_has_the_file(app, other_host, clock, monkeypatch):
    url, host_a, host_b = _upload_on_one_host(app, other_host, clock, "local", monkeypatch)

    assert host_a.get(url).data == pdf_bytes("两台主机")
    with pytest.raises(FileNotFoundError):  # a server error on the second host
        host_b.get(url)


# --- svcproc files move -------------------------------------------------------------------------


@pytest.fixture
def uploads(app, monkeypatch, tmp_path):
    """An empty upload folder of this test's own."""
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(tmp_path / "uploads"))
    return storage.LocalStorage(tmp_path / "uploads")


def _three_files() -> tuple[StoredFile, StoredFile, StoredFile]:
    return _store(pdf_bytes("一")), _store(png_bytes(), "图.png"), _store(pdf_bytes("密"), encrypt=PURPOSE)


def test_moving_to_the_database_copies_every_file_and_can_run_again(app, cli, uploads, monkeypatch):
    monkeypatch.setitem(app.config, "FILE_STORAGE", "local")
    plain, image, sealed = _three_files()

    moved = cli("files", "move", "--to", "database")
    again = cli("files", "move", "--to", "database")

    assert moved.exit_code == 0, moved.output
    assert "3 copied to database, 0 already there, 0 with problems." in moved.output
    assert again.exit_code == 0, again.output
    assert "0 copied to database, 3 already there, 0 with problems." in again.output
    for stored in (plain, image, sealed):
        assert storage.DatabaseStorage().read(stored.stored_name) == uploads.read(stored.stored_name)
    # The database alone now serves them, on a host with an empty folder.
    monkeypatch.setitem(app.config, "FILE_STORAGE", "database")
    monkeypatch.setitem(app.config, "UPLOAD_FOLDER", str(Path(uploads.folder).parent / "elsewhere"))
    assert files.read(plain) == pdf_bytes("一") and files.read(image) == png_bytes()
    assert files.read(sealed, decrypt_purpose=PURPOSE) == pdf_bytes("密")


def test_moving_to_local_copies_every_file_kept_in_the_database(app, cli, uploads, monkeypatch):
    monkeypatch.setitem(app.config, "FILE_STORAGE", "database")
    stored = _three_files()

    moved = cli("files", "move", "--to", "local")

    assert moved.exit_code == 0, moved.output
    assert "3 copied to local, 0 already there, 0 with problems." in moved.output
    for item in stored:
        assert uploads.read(item.stored_name) == storage.DatabaseStorage().read(item.stored_name)
        assert uploads.folder.joinpath(item.stored_name[:2], item.stored_name).stat().st_mode & 0o777 == 0o600
    monkeypatch.setitem(app.config, "FILE_STORAGE", "local")
    assert files.read(stored[2], decrypt_purpose=PURPOSE) == pdf_bytes("密")


@pytest.mark.parametrize("source, target", [("local", "database"), ("database", "local")])
def test_a_file_whose_checksum_does_not_match_is_reported_and_not_copied(app, cli, uploads, monkeypatch,
                                                                          source, target):
    monkeypatch.setitem(app.config, "FILE_STORAGE", source)
    good, bad = _store(pdf_bytes("好")), _store(pdf_bytes("坏"))
    kept = storage.backend()
    kept.delete(bad.stored_name)
    kept.put(pdf_bytes("改过"), name=bad.stored_name)

    moved = cli("files", "move", "--to", target)

    assert moved.exit_code == 1
    assert f"{bad.stored_name}: checksum mismatch in {source}; not copied" in moved.output
    assert f"1 copied to {target}, 0 already there, 1 with problems." in moved.output
    assert storage.backend(target).exists(good.stored_name)
    assert not storage.backend(target).exists(bad.stored_name)


def test_an_encrypted_file_is_compared_byte_for_byte_and_a_different_copy_is_left_alone(app, cli, uploads,
                                                                                        monkeypatch):
    monkeypatch.setitem(app.config, "FILE_STORAGE", "local")
    sealed = _store(pdf_bytes("密"), encrypt=PURPOSE)
    storage.DatabaseStorage().put(b"another ciphertext", name=sealed.stored_name)

    moved = cli("files", "move", "--to", "database")

    assert moved.exit_code == 1
    assert f"{sealed.stored_name}: database holds different content; left as it is" in moved.output
    assert storage.DatabaseStorage().read(sealed.stored_name) == b"another ciphertext"


def test_a_file_missing_from_both_backends_is_reported(app, cli, uploads, monkeypatch):
    monkeypatch.setitem(app.config, "FILE_STORAGE", "local")
    lost = _store()
    uploads.delete(lost.stored_name)

    moved = cli("files", "move", "--to", "database")

    assert moved.exit_code == 1
    assert f"{lost.stored_name}: missing in local and database" in moved.output
