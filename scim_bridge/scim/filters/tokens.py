"""The filter tokenizer: filter text into the token stream scim2-filter-parser's ``SCIMParser`` reads.

The stock ``SCIMLexer`` cannot read numbers with more than one digit, decimals and negatives, JSON string
escapes (``"Team \\"A\\""``), or keywords only as whole words; this tokenizer emits the parser's token types
and reads all of those. Attribute paths are split by the shared grammar (:mod:`scim_bridge.scim.paths`), so a
name is accepted here exactly when PATCH, ``attributes`` and ``sortBy`` accept it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from scim2_filter_parser import ast as scim_ast
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser

from scim_bridge.scim.errors import InvalidFilter
from scim_bridge.scim.filters.nodes import COMPARE_OPERATORS
from scim_bridge.scim.filters.nodes import Scalar
from scim_bridge.scim.paths import PathSyntaxError
from scim_bridge.scim.paths import is_name
from scim_bridge.scim.paths import parse_path

# A word is read whole (any letters) and then checked against the grammar, so that a misspelt path is
# reported as one, not as a stray character.
_TOKEN_RE = re.compile(
    r"""
    (?P<space>[ \t\r\n]+)
    |(?P<LPAREN>\()
    |(?P<RPAREN>\))
    |(?P<LBRACKET>\[)
    |(?P<RBRACKET>\])
    |(?P<string>"(?:[^"\\]|\\.)*")
    |(?P<number>-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
    |(?P<SUBATTR>\.[\w$-]+)
    |(?P<word>(?:[^\W\d]|\$)[\w$:.+%~-]*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {op: op.upper() for op in (*COMPARE_OPERATORS, "pr", "and", "or", "not")}
_LITERALS: dict[str, tuple[str, Scalar]] = {
    "true": ("TRUE", True),
    "false": ("FALSE", False),
    "null": ("NULL", None),
}


@dataclass(slots=True)
class _Token:
    """A token in the shape sly's parser reads (``type``, ``value``, ``lineno``, ``index``, ``end``)."""

    type: str
    value: Any
    index: int
    end: int
    text: str
    lineno: int = 1


def tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if match is None:
            raise InvalidFilter(_bad_character(text, position))
        kind = match.lastgroup or ""
        raw = match.group()
        if kind == "word":
            tokens.extend(_word_tokens(raw, position))
        elif kind != "space":
            tokens.append(_Token(*_simple_token(kind, raw, position), position, match.end(), raw))
        position = match.end()
    unknown = {token.type for token in tokens} - set(SCIMLexer.tokens)
    if unknown:  # pragma: no cover - guards against a parser upgrade renaming token types
        raise InvalidFilter(f"Unsupported filter tokens: {sorted(unknown)}.")
    return tokens


def _bad_character(text: str, position: int) -> str:
    if text[position] == '"':
        return f"Unterminated string at position {position + 1} of the filter."
    return f"Unexpected character {text[position]!r} at position {position + 1} of the filter."


def _simple_token(kind: str, raw: str, position: int) -> tuple[str, Any]:
    if kind == "string":
        try:
            value = json.loads(raw, strict=False)
            value.encode()  # a lone surrogate escape ("\ud800") is no character: no string can hold it
        except ValueError as exc:  # a bad escape such as "\x" (UnicodeEncodeError is one too)
            raise InvalidFilter(f"Invalid string escape in {raw} at position {position + 1}.") from exc
        return "COMP_VALUE", value
    if kind == "number":
        try:
            number = json.loads(raw)
        except ValueError as exc:  # e.g. leading zeros or too many digits
            raise InvalidFilter(f"Invalid number {raw!r} at position {position + 1}.") from exc
        return "NUMBER", number
    if kind == "SUBATTR":
        if not is_name(raw[1:]):
            raise InvalidFilter(f"{raw!r} at position {position + 1} is not a valid sub-attribute.")
        return kind, raw[1:]
    return kind, raw


def _word_tokens(word: str, position: int) -> list[_Token]:
    """Split ``[URI ":"] ATTRNAME ["." subAttr]`` (RFC 7644, Section 3.4.2.2) or read a keyword/literal."""
    end = position + len(word)
    lowered = word.lower()
    if lowered in _KEYWORDS:
        return [_Token(_KEYWORDS[lowered], lowered, position, end, word)]
    if lowered in _LITERALS:
        kind, value = _LITERALS[lowered]
        return [_Token(kind, value, position, end, word)]
    try:
        path = parse_path(word)
    except PathSyntaxError:
        raise InvalidFilter(f"{word!r} at position {position + 1} is not a valid attribute path.") from None
    tokens: list[_Token] = []
    uri, name, sub = path.schema, path.attribute, path.sub_attribute
    if uri is not None:
        tokens.append(_Token("SCHEMA_URI", uri, position, position + len(uri), uri))
    name_end = end - (len(sub) + 1 if sub is not None else 0)
    tokens.append(_Token("ATTRNAME", name, name_end - len(name), name_end, name))
    if sub is not None:
        tokens.append(_Token("SUBATTR", sub, name_end, end, "." + sub))
    return tokens


class _TokenFeed(Iterator[_Token]):
    """Iterates tokens for the parser and remembers where it stopped, for error messages."""

    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._next = 0

    def __next__(self) -> _Token:
        if self._next >= len(self._tokens):
            self._next += 1
            raise StopIteration
        self._next += 1
        return self._tokens[self._next - 1]

    def where(self) -> str:
        if self._next == 0 or self._next > len(self._tokens):
            return "the filter ends unexpectedly"
        token = self._tokens[self._next - 1]
        return f"unexpected {token.text!r} at position {token.index + 1}"


def parse_tree(tokens: list[_Token]) -> Any:
    feed = _TokenFeed(tokens)
    try:
        tree = SCIMParser().parse(feed)
    except Exception as exc:
        raise InvalidFilter(f"Invalid filter: {feed.where()}.") from exc
    if not isinstance(tree, scim_ast.Filter):
        raise InvalidFilter(f"Invalid filter: {feed.where()}.")
    return tree


