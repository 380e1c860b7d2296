"""The open contracting data at /ocds/: anyone reads it, no account needed."""
from __future__ import annotations

import json

from flask import Blueprint, Response, abort, render_template, request, stream_with_context, url_for

from . import packages

bp = Blueprint("ocds", __name__, url_prefix="/ocds")

JSON = "application/json; charset=utf-8"


def _json(data: dict, **headers) -> Response:
    # Compact: json's C encoder serves only unindented output, and a page holds hundreds of releases.
    return Response(json.dumps(data, ensure_ascii=False, separators=(",", ":")), mimetype=JSON, headers=headers)


@bp.route("/")
def index():
    return render_template("ocds/index.html", years=packages.fiscal_years(), extensions=packages.EXTENSIONS)


@bp.route("/releases.json")
def releases():
    """A release package of the next published tenders; the `Link` header names the next page."""
    after = request.args.get("after", "0")
    after = int(after) if after.isdigit() else 0
    found, next_after = packages.page_of_releases(after)
    uri = url_for("ocds.releases", after=after or None, _external=True)
    headers = {}
    if next_after is not None:
        headers["Link"] = f'<{url_for("ocds.releases", after=next_after, _external=True)}>; rel="next"'
    return _json(packages.release_package(uri, found), **headers)


def _process(ocid: str):
    found = packages.find_by_ocid(ocid)
    if found is None:
        abort(404)
    releases = packages.releases_of(*found)
    if not releases:
        abort(404)
    return releases


@bp.route("/releases/<ocid>.json")
def release_package(ocid: str):
    releases = _process(ocid)
    return _json(packages.release_package(url_for("ocds.release_package", ocid=ocid, _external=True), releases))


@bp.route("/records/<ocid>.json")
def record_package(ocid: str):
    releases = _process(ocid)
    record = packages.compile_record(ocid, releases)
    return _json(packages.record_package(url_for("ocds.record_package", ocid=ocid, _external=True), [record],
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
