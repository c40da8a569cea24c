"""The JSON codec of responses and JSON columns: orjson, falling back to the standard library."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from scim_bridge import jsoncodec
from scim_bridge.store.index_values import same_json
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


# JSON values with what tells the two encoders apart: non-ASCII and DEL, control characters, floats (with
# exponents, NaN, infinities, -0.0), integers wider than 64 bits, and names to sort.
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=6) | st.sampled_from(
    ["", "\x7f", "\x00\x1f", "é", "中", "😀", "1e5", "null", "a.b"])
_LEAVES = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | _TEXT)
_JSON = st.recursive(_LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
                     max_leaves=12)


@given(_JSON)
def test_canonical_is_the_standard_librarys_sorted_ascii_encoding(value: Any) -> None:
    assert jsoncodec.canonical(value) == json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _walked(left: Any, right: Any) -> bool:
    """same_json's meaning, spelt out: equal types all the way down, names in the same order."""
    if left is right:  # the very same value (even NaN)
        return True
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(_walked(value, right[key]) for key, value in left.items())
    if isinstance(left, list):
        return len(left) == len(right) and all(map(_walked, left, right))
    return bool(left == right)


def _signed_zero(value: Any) -> bool:
    if isinstance(value, float):
        return value == 0.0
    if isinstance(value, dict):
        return any(map(_signed_zero, value.values()))
    return isinstance(value, list) and any(map(_signed_zero, value))


@given(_JSON, _JSON)
def test_same_json_tells_types_and_name_order_apart(left: Any, right: Any) -> None:
    for a, b in ((left, right), (left, jsoncodec.loads(jsoncodec.dumps(left))), (left, left)):
        if _walked(a, b):
            assert same_json(a, b) or _signed_zero(a)  # 0.0 and -0.0 may count as a change (rows rebuilt)
        else:
            assert not same_json(a, b)
    assert not same_json({"a": 1, "b": 2}, {"b": 2, "a": 1}) and not same_json([1], [1.0])
    assert not same_json(True, 1) and same_json({"x": [1, "y"]}, {"x": [1, "y"]})
    nan = float("nan")
    assert same_json([nan], [nan]) and not same_json([nan], [float("nan")])
