"""JSON encoding for responses and the store's JSON columns: orjson, with the standard library behind it.

orjson is several times faster than ``json`` on the documents the bridge serves, which JSON encoding and
decoding dominated in the profiles (bench/RESULTS.md). It refuses a few things the standard library takes:
integers beyond 64 bits and ``NaN``/``Infinity`` in input; those values fall back to ``json``, so no
request ever fails because of the codec.
"""

from __future__ import annotations

import json
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
