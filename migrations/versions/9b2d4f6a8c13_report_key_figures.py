"""Reports keep their key figures (what a reader compares with the paper on the verification page),
and are found by the SHA-256 of their data through an index (a verified file is looked up by it).

The figures of reports kept before are read back from the data attached to their PDFs (a
spreadsheet takes those of the PDF of the same data); a copy whose file cannot be read keeps none.

Revision ID: 9b2d4f6a8c13
Revises: c4d7e9a2b615
Create Date: 2026-12-05 21:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = "9b2d4f6a8c13"
down_revision = "c4d7e9a2b615"
branch_labels = None
depends_on = None


def _read(bind, stored_name: str) -> bytes | None:
    """A kept file's bytes, from the database's chunks or the local folder, wherever it is."""
    parts = bind.execute(sa.text("SELECT data FROM file_chunk WHERE stored_name = :name ORDER BY position"),
                         {"name": stored_name}).scalars().all()
    if parts:
        return b"".join(bytes(p) for p in parts)
    from svcproc.core import storage  # the upload folder is the app's setting: `svcproc db upgrade` provides it

    try:
        return storage.backend("local").read(stored_name)
    except (OSError, ValueError):
        return None


def figures_of_kept_reports(bind) -> dict[int, dict]:
    """report id -> key figures, for every kept report whose figures can be read back."""
    from svcproc.reports.figures import from_pdf

    rows = bind.execute(sa.text(
        "SELECT r.id, r.kind, r.format, r.data_sha256, f.stored_name, f.encrypted "
        "FROM generated_report r JOIN stored_file f ON f.id = r.file_id ORDER BY r.id")).all()
    found, by_data = {}, {}
    for report_id, kind, fmt, sha256, stored_name, encrypted in rows:
        if fmt != "pdf" or encrypted:
            continue
        content = _read(bind, stored_name)
        try:
            figures = from_pdf(kind, content) if content else None
        except (ValueError, KeyError, TypeError):  # data of an older shape: nothing to show
            figures = None
        if figures is not None:
            found[report_id] = by_data[sha256] = figures
    for report_id, _kind, fmt, sha256, _name, _encrypted in rows:
        if fmt != "pdf" and sha256 in by_data:
            found[report_id] = by_data[sha256]
    return found


def upgrade():
    bind = op.get_bind()
    # Read before the table is altered (SQLite rebuilds it in a batch).
    figures = figures_of_kept_reports(bind)
    with op.batch_alter_table("generated_report") as batch:
        batch.add_column(sa.Column("figures", sa.JSON(), nullable=True))
        batch.create_index(batch.f("ix_generated_report_data_sha256"), ["data_sha256"], unique=False)
    reports = sa.table("generated_report", sa.column("id", sa.Integer), sa.column("figures", sa.JSON))
    for report_id, values in figures.items():
        bind.execute(reports.update().where(reports.c.id == report_id).values(figures=values))


def downgrade():
    with op.batch_alter_table("generated_report") as batch:
        batch.drop_index(batch.f("ix_generated_report_data_sha256"))
        batch.drop_column("figures")
