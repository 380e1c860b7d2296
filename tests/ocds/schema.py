"""The OCDS 1.1.5 schemas and the extensions' patches, read at test time from the local copies
(never kept in the repository, never fetched): jsonschema validators and a libcoveocds
configuration that works offline."""
from __future__ import annotations

import copy
import io
import json
import os
import socket
import zipfile
from functools import cache
from pathlib import Path

import pytest
import requests
import urllib3
from jsonschema import Draft4Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

from svcproc.ocds.packages import EXTENSIONS

SHARED = Path(os.environ.get("OCDS_SHARED_DIR", "/work/shared/ocds"))
STANDARD = SHARED / "1__1__5" / "schema"
EXTENSIONS_DIR = SHARED / "extensions"
SCHEMA_BASE = "https://standard.open-contracting.org/schema/1__1__5/"


def require_local_copies() -> None:
    if not (STANDARD / "release-schema.json").exists() or not EXTENSIONS_DIR.exists():
        pytest.skip(f"the OCDS 1.1.5 schema and extensions are not under {SHARED} (OCDS_SHARED_DIR)")


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def merge_patch(target, patch):
    """RFC 7386 JSON Merge Patch, as OCDS extensions apply their release-schema.json."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@cache
def patched_release_schema() -> dict:
    schema = _load(STANDARD / "release-schema.json")
    for name in EXTENSIONS:
        schema = merge_patch(schema, _load(EXTENSIONS_DIR / name / "release-schema.json"))
    return schema


@cache
def _validators() -> dict[str, Draft4Validator]:
    registry = Registry().with_resources([
        (SCHEMA_BASE + "release-schema.json", DRAFT4.create_resource(patched_release_schema())),
        (SCHEMA_BASE + "versioned-release-validation-schema.json",
         DRAFT4.create_resource(_load(STANDARD / "versioned-release-validation-schema.json"))),
    ])
    found = {}
    for kind in ("release-package", "record-package"):
        schema = _load(STANDARD / f"{kind}-schema.json")
        Draft4Validator.check_schema(schema)
        found[kind] = Draft4Validator(schema, registry=registry, format_checker=Draft4Validator.FORMAT_CHECKER)
    found["release"] = Draft4Validator(patched_release_schema(), registry=registry,
                                       format_checker=Draft4Validator.FORMAT_CHECKER)
    return found


def errors(kind: str, data: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validators()[kind].iter_errors(data)]


# --- libcoveocds, offline ---------------------------------------------------------------------------

RAW = "https://raw.githubusercontent.com/open-contracting-extensions/"


def standard_zip() -> bytes:
    """The standard's schema folder as the ZIP of the standard repository ocdsextensionregistry reads."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("standard-1__1__5/", "")
        for path in sorted(STANDARD.rglob("*")):
            if path.is_file():
                archive.write(path, "standard-1__1__5/schema/" + path.relative_to(STANDARD).as_posix())
    return buffer.getvalue()


ARCHIVE = "https://github.com/open-contracting-extensions/"


def _extension_zip(name: str) -> bytes | None:
    """An extension's folder as the ZIP GitHub serves for a branch (one top-level folder)."""
    folder = EXTENSIONS_DIR / name
    if not folder.is_dir():
        return None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{name}-master/", "")
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{name}-master/" + path.relative_to(folder).as_posix())
    return buffer.getvalue()


def local_content(url: str) -> tuple[bool, bytes | None]:
    """(whether the URL is one of the local copies' addresses, its bytes or None when absent)."""
    if url.startswith(RAW):
        name, _ref, rest = url[len(RAW):].split("/", 2)
        path = EXTENSIONS_DIR / name / rest
        return True, path.read_bytes() if path.is_file() else None
    if url.startswith(ARCHIVE) and "/archive/" in url:
        return True, _extension_zip(url[len(ARCHIVE):].split("/", 1)[0])
    if url.startswith(SCHEMA_BASE):
        path = STANDARD / url[len(SCHEMA_BASE):]
        return True, path.read_bytes() if path.is_file() else None
    return False, None


def _local_send(adapter, request, **kwargs):
    """requests' transport, answering from the local copies; any other address is refused."""
    ours, data = local_content(request.url)
    if not ours:
        raise requests.ConnectionError(f"the OCDS checks must not reach the network ({request.url})")
    raw = urllib3.HTTPResponse(body=io.BytesIO(data or b""), status=200 if data is not None else 404,
                               reason="OK" if data is not None else "Not Found", preload_content=False,
                               request_url=request.url, headers={"Content-Type": "application/octet-stream"})
    return adapter.build_response(request, raw)


def _local_only(real_connect):
    def connect(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") and sock.family != socket.AF_UNIX:
            raise OSError(f"the OCDS checks must not reach the network ({host})")
        return real_connect(sock, address)
    return connect


@pytest.fixture
def offline_cove(monkeypatch, tmp_path):
    """run(package) -> libcoveocds's context, with the local schema and extensions and no network:
    HTTP is answered from the local copies (and refused elsewhere), other sockets may reach only
    this machine (the test database and Redis)."""
    require_local_copies()
    from libcoveocds.api import ocds_json_output
    from libcoveocds.config import LibCoveOCDSConfig
    monkeypatch.setattr(socket.socket, "connect", _local_only(socket.socket.connect))
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", _local_send)
    config = LibCoveOCDSConfig({"standard_zip": standard_zip(), "context": "api"})

    def run(package: dict) -> dict:
        return ocds_json_output(str(tmp_path), json_data=package, lib_cove_ocds_config=config)

    return run
