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


# orjson's canonical output differs from the standard library's only where these find something: non-ASCII
# bytes and DEL (``json`` escapes them), and outside the strings ``null`` (orjson writes ``NaN`` and the
# infinities so) and numbers with a fraction or an exponent (the two format some floats differently). Without
# a backslash (no escape in any string), the parts between the quotes alternate: outside, inside, outside...
_FLOAT_OR_NULL = re.compile(rb"null|[0-9][.eE]")
_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME | (
    orjson.OPT_PASSTHROUGH_DATACLASS)


def canonical(value: Any) -> bytes:
    """``json.dumps(value, sort_keys=True, separators=(",", ":"))`` as bytes (ASCII, names sorted), the same
    bytes whichever encoder made them: orjson where its output is certainly identical, ``json`` otherwise."""
    try:
        encoded = orjson.dumps(value, option=_SORTED)
    except TypeError:  # orjson.JSONEncodeError: what only json takes (or refuses the same way)
        encoded = b""
    if (not encoded or not encoded.isascii() or b"\x7f" in encoded or b"\\" in encoded
            or _FLOAT_OR_NULL.search(b"".join(encoded.split(b'"')[0::2]))):
        return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return encoded
