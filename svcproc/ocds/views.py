"""The open contracting data at /ocds/: anyone reads it, no account needed."""
from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request, stream_with_context, url_for

from . import packages, pages

bp = Blueprint("ocds", __name__, url_prefix="/ocds")

JSON = "application/json; charset=utf-8"


def _json(body: bytes, **headers) -> Response:
    """Compact JSON assembled from the kept releases (store.py): a page holds hundreds of them."""
    return Response(body, mimetype=JSON, headers=headers)


@bp.route("/")
def index():
    return render_template("ocds/index.html", years=packages.fiscal_years(), extensions=packages.EXTENSIONS)


@bp.route("/releases.json")
def releases():
    """A release package of the next published tenders; the `Link` header names the next page."""
    after = request.args.get("after", "0")
    after = int(after) if after.isdigit() else 0
    uri = url_for("ocds.releases", after=after or None, _external=True)
    text, next_after = pages.page_json(uri, after)
    headers = {}
    if next_after is not None:
        headers["Link"] = f'<{url_for("ocds.releases", after=next_after, _external=True)}>; rel="next"'
    return _json(text, **headers)


@bp.route("/releases/<ocid>.json")
def release_package(ocid: str):
    kept = packages.kept_by_ocid(ocid)
    if kept is None:
        abort(404)
    return _json(packages.release_package_json(url_for("ocds.release_package", ocid=ocid, _external=True), kept))


@bp.route("/records/<ocid>.json")
def record_package(ocid: str):
    kept = packages.kept_by_ocid(ocid, compiled=True)
    if kept is None:
        abort(404)
    return _json(packages.record_package_json(url_for("ocds.record_package", ocid=ocid, _external=True), kept,
                                              [url_for("ocds.release_package", ocid=ocid, _external=True)]))


@bp.route("/bulk/<int:year>.<fmt>")
def bulk(year: int, fmt: str):
    """The fiscal year's releases, streamed: a release package, or one release per line."""
    if fmt not in ("json", "jsonl"):
        abort(404)
    uri = url_for("ocds.bulk", year=year, fmt=fmt, _external=True)
    lines = fmt == "jsonl"
    body = stream_with_context(packages.stream_bulk(year, uri, lines))
    mimetype = "application/x-ndjson; charset=utf-8" if lines else JSON
    return Response(body, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="ocds-{year}.{fmt}"'})
