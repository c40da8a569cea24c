"""JSON encoding for responses and the store's JSON columns: orjson, with the standard library behind it.

orjson is several times faster than ``json`` on the documents the bridge serves, which JSON encoding and
decoding dominated in the profiles (bench/RESULTS.md). It refuses a few things the standard library takes:
integers beyond 64 bits and ``NaN``/``Infinity`` in input; those values fall back to ``json``, so no
request ever fails because of the codec.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, keys in insertion order."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError: e.g. an integer wider than 64 bits
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def dumps_text(value: Any) -> str:
    return dumps(value).decode()


def loads(data: str | bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:  # e.g. NaN written by an older version, or a 65-bit integer
        return json.loads(data)


# orjson's canonical output differs from the standard library's only where this finds something: non-ASCII
# bytes and DEL (``json`` escapes them), ``null`` (``NaN`` and infinities become null in orjson) and numbers
# with a fraction or an exponent (the two format some floats differently). A string that merely looks so
# only takes the slower path.
_NOT_CANONICAL = re.compile(rb"[^\x00-\x7e]|null|[0-9][.eE]")
_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME | (
    orjson.OPT_PASSTHROUGH_DATACLASS)


def canonical(value: Any) -> bytes:
    """``json.dumps(value, sort_keys=True, separators=(",", ":"))`` as bytes (ASCII, names sorted), the same
    bytes whichever encoder made them: orjson where its output is certainly identical, ``json`` otherwise."""
    try:
        encoded = orjson.dumps(value, option=_SORTED)
    except TypeError:  # orjson.JSONEncodeError: what only json takes (or refuses the same way)
        encoded = b""
    if not encoded or _NOT_CANONICAL.search(encoded):
        return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return encoded
