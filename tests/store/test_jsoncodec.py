"""The JSON codec of responses and JSON columns: orjson, falling back to the standard library."""

from __future__ import annotations

import json

from scim_bridge import jsoncodec
from scim_bridge.store.sqlutil import normalize_json


def test_compact_utf8_in_insertion_order() -> None:
    doc = {"userName": "zoë@example.com", "a": [1, 2.5, None, True], "b": {"y": 1, "x": 2}}
    data = jsoncodec.dumps(doc)
    assert data == json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()
    assert jsoncodec.loads(data) == doc and jsoncodec.loads(data.decode()) == doc


def test_values_orjson_refuses_fall_back_to_the_standard_library() -> None:
    wide = {"n": 2**70}
    assert jsoncodec.loads(jsoncodec.dumps(wide)) == wide
    assert jsoncodec.dumps_text({1: "int key"}) == '{"1":"int key"}'
    assert jsoncodec.loads('{"x": NaN}')["x"] != 0  # NaN, as json.loads reads it


def test_normalize_json_is_what_a_json_column_reads_back() -> None:
    assert normalize_json({"t": (1, 2), 3: "x"}) == {"t": [1, 2], "3": "x"}
