"""JSON answers (the API's lists, problem details) serialised by orjson.

The standard library's encoder took about a millisecond for a page of 100 service entries, as long
as reading them; orjson writes the same document in a twentieth of that. The document is the same
as Flask's default gives: keys sorted, dates as Flask writes them (its `default`), compact unless
the app runs in debug; only Chinese text is written as UTF-8 instead of \\u escapes, which any JSON
reader decodes to the same strings. Anything orjson refuses (an integer beyond 64 bits, a key that
is not a string) is written by the standard encoder, as before.

`RawJSON` carries a value already written as JSON (an API list's entries, written by PostgreSQL:
api/entry_json.py): orjson places its text as it is; the standard encoder reads it back first.
"""
from __future__ import annotations

import typing as t

import orjson
from flask.json.provider import DefaultJSONProvider

# Dates and dataclasses through Flask's `default`, as its encoder writes them; subclasses of str and
# int (an enum's member, Markup) as their values, as the standard encoder writes them.
_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class RawJSON:
    """A JSON value given as its text, placed in an answer as it is."""

    __slots__ = ("text",)

    def __init__(self, text: str | bytes):
        self.text = text


class OrjsonProvider(DefaultJSONProvider):
    @staticmethod
    def default(o: t.Any) -> t.Any:
        if isinstance(o, RawJSON):
            return orjson.loads(o.text)
        return DefaultJSONProvider.default(o)

    def _orjson_default(self, o: t.Any) -> t.Any:
        if isinstance(o, RawJSON):
            return orjson.Fragment(o.text)
        return self.default(o)

    def response(self, *args: t.Any, **kwargs: t.Any):
        if (self.compact is None and self._app.debug) or self.compact is False:
            return super().response(*args, **kwargs)
        obj = self._prepare_response_obj(args, kwargs)
        try:
            body = orjson.dumps(obj, default=self._orjson_default, option=_OPTIONS | orjson.OPT_APPEND_NEWLINE)
        except TypeError:  # orjson.JSONEncodeError: what only the standard encoder writes
            return super().response(*args, **kwargs)
        return self._app.response_class(body, mimetype=self.mimetype)
