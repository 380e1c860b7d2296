"""File storage benchmark: storing, reading whole and streaming files through the local and the
database backends, timed interleaved on one database, with the memory a streamed read holds.

    .venv/bin/python bench/storage_bench.py [--database-url URL] [--rounds 7]

The database: --database-url, else BENCH_DATABASE_URL, else a temporary SQLite file; its schema is
brought to the current migration. Every file the benchmark stores is deleted again.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
import tempfile
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Figures, interleave, median  # noqa: E402

SIZES_MB = (1, 20)   # a typical upload, the largest one accepted by default
KIND = "pdf"


def _payload(mb: int) -> bytes:
    # Random bytes: neither the database nor the file system can shrink them.
    return b"%PDF-1.4\n" + os.urandom(mb * 1048576 - 9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SVCPROC_INSTANCE"] = tmp
        url = args.database_url or f"sqlite:///{tmp}/storage-bench.db"
        run(url, args.rounds)


def run(url: str, rounds: int) -> None:
    import flask_migrate
    from werkzeug.datastructures import FileStorage

    from svcproc import create_app
    from svcproc.core import files, storage
    from svcproc.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MAX_CONTENT_LENGTH": 64 * 1048576})
    rule = files.UploadRule(kinds=frozenset({KIND}))
    figures = Figures("storage", database=url.split(":", 1)[0], rounds=rounds)
    created: dict[str, list] = {"local": [], "database": []}
    with app.app_context():
        flask_migrate.upgrade()
        try:
            for mb in SIZES_MB:
                data = _payload(mb)
                kept = {}
                for backend in ("local", "database"):
                    app.config["FILE_STORAGE"] = backend
                    kept[backend] = files.store(FileStorage(io.BytesIO(data), filename="bench.pdf"), purpose="bench",
                                                rule=rule)
                    db.session.commit()
                    created[backend].append(kept[backend].stored_name)

                def store(backend):
                    def step():
                        app.config["FILE_STORAGE"] = backend
                        stored = files.store(FileStorage(io.BytesIO(data), filename="bench.pdf"), purpose="bench",
                                             rule=rule)
                        db.session.commit()
                        created[backend].append(stored.stored_name)
                    return step

                def read(backend):
                    def step():
                        app.config["FILE_STORAGE"] = backend
                        assert len(files.read(kept[backend])) == len(data)
                    return step

                def first_block(backend):
                    def step():
                        app.config["FILE_STORAGE"] = backend
                        with files.stream(kept[backend]) as source:
                            source.read(65536)
                    return step

                times = interleave({f"{verb} {backend}": make(backend) for verb, make in
                                    (("store", store), ("read", read), ("first 64 KB", first_block))
                                    for backend in ("local", "database")}, rounds)
                ms = {name: median(values) * 1000 for name, values in times.items()}
                goal_store = 100 if mb == 1 else 1500
                goal_read = 50 if mb == 1 else 800
                for backend in ("local", "database"):
                    figures.add(f"{mb} MB: store and commit, {backend}", ms[f"store {backend}"], " ms",
                                at_most=goal_store)
                    figures.add(f"{mb} MB: read whole, {backend}", ms[f"read {backend}"], " ms", at_most=goal_read)
                    figures.add(f"{mb} MB: open and read the first 64 KB, {backend}", ms[f"first 64 KB {backend}"],
                                " ms", at_most=30)
                figures.add(f"{mb} MB: database / local, store", ms["store database"] / ms["store local"], "x")
                figures.add(f"{mb} MB: database / local, read whole", ms["read database"] / ms["read local"], "x")

            # What a streamed reader holds, against reading the file whole (the largest file, database).
            app.config["FILE_STORAGE"] = "database"
            stored = kept["database"]
            tracemalloc.start()
            with files.stream(stored) as source:
                digest = hashlib.sha256()
                for block in iter(lambda: source.read(65536), b""):
                    digest.update(block)
            streamed = tracemalloc.get_traced_memory()[1] / 1048576
            tracemalloc.reset_peak()
            whole = hashlib.sha256(files.read(stored)).hexdigest()
            read_whole = tracemalloc.get_traced_memory()[1] / 1048576
            tracemalloc.stop()
            assert digest.hexdigest() == whole == stored.sha256
            figures.add(f"{SIZES_MB[-1]} MB, database: peak memory hashing it streamed", streamed, " MB", at_most=4)
            figures.add(f"{SIZES_MB[-1]} MB, database: peak memory hashing it read whole", read_whole, " MB")
        finally:
            db.session.rollback()
            for backend, names in created.items():
                kept_in = storage.backend(backend)
                for name in names:
                    kept_in.delete(name)
            db.session.execute(files.StoredFile.__table__.delete().where(files.StoredFile.purpose == "bench"))
            db.session.commit()
    figures.save()
    if figures.missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
