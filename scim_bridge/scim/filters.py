"""SCIM filters (RFC 7644, Section 3.4.2.2): parsing into a small IR and in-memory evaluation.

:func:`parse_filter` turns filter text into an immutable tree of :class:`Compare`, :class:`Present`,
:class:`And`, :class:`Or`, :class:`Not` and :class:`ValuePath` nodes whose attribute paths are all resolved
against the bridge's attribute table (:mod:`scim_bridge.scim.schema`). The tree holds no evaluation logic, so
the same tree can be evaluated in memory (:func:`matches`) or translated into another query language.

Grammar work is done by scim2-filter-parser's ``SCIMParser``. Its token stream comes from this module's own
tokenizer, which emits the parser's token types but also reads what the stock ``SCIMLexer`` cannot: numbers
with more than one digit, decimals and negatives, JSON string escapes (``"Team \\"A\\""``), and keywords only
as whole words. The parser gives ``and`` and ``or`` the same precedence, so every unparenthesised chain is
regrouped here to the RFC order (``not`` > ``and`` > ``or``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import TypeAlias

from scim2_filter_parser import ast as scim_ast
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser

from scim_bridge.scim.errors import InvalidFilter
from scim_bridge.scim.errors import ScimError
from scim_bridge.scim.schema import BOOLEAN
from scim_bridge.scim.schema import COMPLEX
from scim_bridge.scim.schema import DATETIME
from scim_bridge.scim.schema import DECIMAL
from scim_bridge.scim.schema import INTEGER
from scim_bridge.scim.schema import Attribute
from scim_bridge.scim.schema import AttributePath
from scim_bridge.scim.schema import ResourceType

Scalar: TypeAlias = str | int | float | bool | None

COMPARE_OPERATORS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
ORDERING_OPERATORS = ("gt", "ge", "lt", "le")
SUBSTRING_OPERATORS = ("co", "sw", "ew")


# ---------------------------------------------------------------------------------------------------------
# The IR.


@dataclass(frozen=True, slots=True)
class Compare:
    """``path op value``; ``op`` is one of :data:`COMPARE_OPERATORS`, in lower case.

    ``attr eq null`` and ``attr ne null`` never appear here: the parser rewrites them to
    ``Not(Present(attr))`` and ``Present(attr)``.
    """

    path: AttributePath
    op: str
    value: Scalar


@dataclass(frozen=True, slots=True)
class Present:
    """``path pr``: the attribute has a non-null, non-empty value (RFC 7644, Section 3.4.2.2)."""

    path: AttributePath


@dataclass(frozen=True, slots=True)
class And:
    left: FilterNode
    right: FilterNode


@dataclass(frozen=True, slots=True)
class Or:
    left: FilterNode
    right: FilterNode


@dataclass(frozen=True, slots=True)
class Not:
    node: FilterNode


@dataclass(frozen=True, slots=True)
class ValuePath:
    """``path[filter]``: one value of the complex attribute ``path`` must satisfy all of ``filter``.

    The paths inside ``filter`` name sub-attributes of ``path`` (their ``attribute`` is ``path.attribute``).
    ``emails[type eq "work"].value eq "x"`` becomes ``ValuePath(emails, And(type eq "work", value eq "x"))``
    so that the same e-mail value must be the work one and equal ``x``.
    """

    path: AttributePath
    filter: FilterNode


FilterNode: TypeAlias = Compare | Present | And | Or | Not | ValuePath


# ---------------------------------------------------------------------------------------------------------
# Tokenizer (feeds scim2-filter-parser's SCIMParser).

_NAME = r"[A-Za-z$][A-Za-z0-9_$-]*"
_NAME_RE = re.compile(_NAME)
_TOKEN_RE = re.compile(
    r"""
    (?P<space>[ \t\r\n]+)
    |(?P<LPAREN>\()
    |(?P<RPAREN>\))
    |(?P<LBRACKET>\[)
    |(?P<RBRACKET>\])
    |(?P<string>"(?:[^"\\]|\\.)*")
    |(?P<number>-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
    |(?P<SUBATTR>\.[A-Za-z$][A-Za-z0-9_$-]*)
    |(?P<word>[A-Za-z$][A-Za-z0-9_$:.-]*)
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


def _tokenize(text: str) -> list[_Token]:
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
            return "COMP_VALUE", json.loads(raw, strict=False)
        except ValueError as exc:  # a bad escape such as "\x"
            raise InvalidFilter(f"Invalid string escape in {raw} at position {position + 1}.") from exc
    if kind == "number":
        try:
            number = json.loads(raw)
        except ValueError as exc:  # e.g. leading zeros or too many digits
            raise InvalidFilter(f"Invalid number {raw!r} at position {position + 1}.") from exc
        return "NUMBER", number
    if kind == "SUBATTR":
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
    tokens: list[_Token] = []
    uri, colon, rest = word.rpartition(":")
    if colon:
        tokens.append(_Token("SCHEMA_URI", uri, position, position + len(uri), uri))
    name, dot, sub = rest.partition(".")
    if not _NAME_RE.fullmatch(name) or (dot and not _NAME_RE.fullmatch(sub)):
        raise InvalidFilter(f"{word!r} at position {position + 1} is not a valid attribute path.")
    tokens.append(_Token("ATTRNAME", name, end - len(rest), end, name))
    if dot:
        tokens.append(_Token("SUBATTR", sub, end - len(sub) - 1, end, "." + sub))
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


def _parse_tree(tokens: list[_Token]) -> Any:
    feed = _TokenFeed(tokens)
    try:
        tree = SCIMParser().parse(feed)
    except Exception as exc:
        raise InvalidFilter(f"Invalid filter: {feed.where()}.") from exc
    if not isinstance(tree, scim_ast.Filter):
        raise InvalidFilter(f"Invalid filter: {feed.where()}.")
    return tree


# ---------------------------------------------------------------------------------------------------------
# Parser AST -> IR.


def parse_filter(
    text: str, resource_type: ResourceType, *, max_length: int = 4096, max_depth: int = 32
) -> FilterNode:
    """Parse a SCIM filter (RFC 7644, Section 3.4.2.2) for ``resource_type``.

    Every attribute must exist in the attribute table, and every comparison value must fit its attribute's
    type; anything else is a 400 ``invalidFilter`` (RFC 7644, Section 3.4.2.2: "MUST decline to filter").
    ``max_depth`` bounds nested groups (parentheses, ``not (...)`` and value filters ``attr[...]``); long flat
    ``and``/``or`` chains are bounded only by ``max_length``.

    :raises InvalidFilter: for any problem with the filter; no other exception escapes.
    """
    if not isinstance(text, str):
        raise InvalidFilter("The filter must be a string.")
    if len(text) > max_length:
        raise InvalidFilter(f"The filter is longer than {max_length} characters.")
    if not text.strip():
        raise InvalidFilter("The filter is empty.")
    try:
        tree = _parse_tree(_tokenize(text))
        return _Converter(resource_type, max_depth).filter(tree, 0, None)
    except ScimError:
        raise
    except Exception as exc:  # a parser quirk must still be a 400, never a 500
        raise InvalidFilter(f"Invalid filter: {exc}.") from exc


class _Converter:
    def __init__(self, resource_type: ResourceType, max_depth: int) -> None:
        self._resource_type = resource_type
        self._max_depth = max_depth

    def filter(self, node: Any, depth: int, scope: AttributePath | None) -> FilterNode:
        """Convert one ``ast.Filter``; ``scope`` is the complex attribute when inside ``attr[...]``."""
        if depth > self._max_depth:
            raise InvalidFilter(f"The filter nests deeper than {self._max_depth} levels.")
        if not isinstance(node, scim_ast.Filter):
            raise InvalidFilter("Invalid filter structure.")
        if node.namespace is not None:
            return self._value_path(node, depth, scope)
        expr = node.expr
        result: FilterNode
        if isinstance(expr, scim_ast.Filter):  # "(...)", "not (...)" or a value path
            result = self.filter(expr, depth + 1, scope)
        elif isinstance(expr, scim_ast.LogExpr):
            result = self._chain(node, depth, scope)
        elif isinstance(expr, scim_ast.AttrExpr):
            result = self._attr_expr(expr, depth, scope)
        else:
            raise InvalidFilter("Invalid filter structure.")
        return Not(result) if node.negated else result

    def _chain(self, node: Any, depth: int, scope: AttributePath | None) -> FilterNode:
        """Regroup ``a or b and c`` as ``a or (b and c)`` (RFC 7644, Section 3.4.2.2, order of operations)."""
        operands: list[FilterNode] = []
        operators: list[str] = []
        stack: list[Any] = [node]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                operators.append(item)
            elif _is_bare_chain(item):
                stack.extend((item.expr.expr2, str(item.expr.op).lower(), item.expr.expr1))
            else:
                operands.append(self.filter(item, depth, scope))
        terms: list[list[FilterNode]] = [[operands[0]]]
        for operator, operand in zip(operators, operands[1:], strict=True):
            if operator == "and":
                terms[-1].append(operand)
            else:
                terms.append([operand])
        return _balanced(Or, [_balanced(And, term) for term in terms])

    def _value_path(self, node: Any, depth: int, scope: AttributePath | None) -> FilterNode:
        namespace = node.namespace
        if namespace.sub_attr is not None:
            raise InvalidFilter('A value filter follows the attribute itself, as in emails[type eq "work"].')
        parent = self._parent(namespace, scope)
        return ValuePath(parent, self.filter(node.expr, depth, parent))

    def _attr_expr(self, expr: Any, depth: int, scope: AttributePath | None) -> FilterNode:
        op = str(expr.value).lower()
        attr_path = expr.attr_path
        comp_value = None if expr.comp_value is None else expr.comp_value.value
        if isinstance(attr_path.attr_name, scim_ast.Filter):
            return self._filtered_comparison(attr_path.attr_name, op, comp_value, depth, scope)
        return _comparison(self._path(attr_path, scope), op, comp_value)

    def _filtered_comparison(
        self, value_filter: Any, op: str, comp_value: Scalar, depth: int, scope: AttributePath | None
    ) -> FilterNode:
        """``emails[type eq "work"].value eq "x"``: the same element must satisfy both parts."""
        namespace = value_filter.namespace
        parent = self._parent(namespace, scope)
        inner = self.filter(value_filter.expr, depth + 1, parent)
        if namespace.sub_attr is None:
            if op != "pr":
                raise InvalidFilter(f"'{parent.dotted()}' is complex: compare one of its sub-attributes.")
            return ValuePath(parent, inner)
        target = self._relative(parent, str(namespace.sub_attr.value))
        return ValuePath(parent, And(inner, _comparison(target, op, comp_value)))

    def _parent(self, namespace: Any, scope: AttributePath | None) -> AttributePath:
        if scope is not None or not isinstance(namespace.attr_name, str):
            raise InvalidFilter("Value filters cannot be nested.")
        path = self._resolve(_spell(namespace.uri, namespace.attr_name, None))
        if path.attribute.type != COMPLEX:
            raise InvalidFilter(f"'{path.dotted()}' is not complex, so it takes no [...] value filter.")
        return path

    def _path(self, attr_path: Any, scope: AttributePath | None) -> AttributePath:
        sub = None if attr_path.sub_attr is None else str(attr_path.sub_attr.value)
        if scope is None:
            return self._resolve(_spell(attr_path.uri, attr_path.attr_name, sub))
        if attr_path.uri is not None or sub is not None:
            raise InvalidFilter(
                f"Inside '{scope.dotted()}[...]' name sub-attributes of '{scope.attribute.name}' only."
            )
        return self._relative(scope, str(attr_path.attr_name))

    def _relative(self, parent: AttributePath, name: str) -> AttributePath:
        path = self._resolve_or_none(f"{parent.dotted()}.{name}")
        if path is None or path.sub_attribute is None:
            raise InvalidFilter(f"'{parent.dotted()}' has no sub-attribute '{name}'.")
        return path

    def _resolve(self, spelled: str) -> AttributePath:
        path = self._resolve_or_none(spelled)
        if path is None:
            raise InvalidFilter(f"Unknown attribute '{spelled}' for {self._resource_type.id} resources.")
        return path

    def _resolve_or_none(self, spelled: str) -> AttributePath | None:
        return self._resource_type.resolve(spelled)


def _spell(uri: Any, name: Any, sub: str | None) -> str:
    text = f"{uri}:{name}" if uri else str(name)
    return f"{text}.{sub}" if sub else text


def _is_bare_chain(node: Any) -> bool:
    """An ``and``/``or`` chain the parser built without parentheses around it."""
    return (
        isinstance(node, scim_ast.Filter)
        and isinstance(node.expr, scim_ast.LogExpr)
        and not node.negated
        and node.namespace is None
    )


def _balanced(kind: type[And] | type[Or], nodes: Sequence[FilterNode]) -> FilterNode:
    """Combine with a balanced tree, so that long chains do not make deep recursion."""
    if len(nodes) == 1:
        return nodes[0]
    middle = len(nodes) // 2
    return kind(_balanced(kind, nodes[:middle]), _balanced(kind, nodes[middle:]))


# ---------------------------------------------------------------------------------------------------------
# Comparison checks (RFC 7644, Section 3.4.2.2, "Attribute Operators").


def _comparison(path: AttributePath, op: str, value: Scalar) -> FilterNode:
    if op == "pr":
        return Present(path)
    if op not in COMPARE_OPERATORS:
        raise InvalidFilter(f"The operator '{op}' is not supported.")
    target = path.target
    name = path.dotted()
    if target.type == COMPLEX:
        raise InvalidFilter(f"'{name}' is complex: compare one of its sub-attributes, or use 'pr'.")
    if value is None:
        return _null_comparison(path, op)
    return Compare(path, op, _checked_value(target, name, op, value))


def _null_comparison(path: AttributePath, op: str) -> FilterNode:
    """``eq null`` is "not present", ``ne null`` is "present" (RFC 7643, Section 2.5: null is unassigned)."""
    if op == "eq":
        return Not(Present(path))
    if op == "ne":
        return Present(path)
    raise InvalidFilter(f"null can only be compared with 'eq' or 'ne', not '{op}'.")


def _checked_value(attribute: Attribute, name: str, op: str, value: Scalar) -> Scalar:
    kind = attribute.type
    if kind == BOOLEAN:
        return _checked_boolean(name, op, value)
    if kind in (INTEGER, DECIMAL):
        return _checked_number(kind, name, op, value)
    if not isinstance(value, str):
        raise InvalidFilter(f"'{name}' is a {kind}: compare it with a quoted string, not {_json(value)}.")
    if kind == DATETIME:
        if op in SUBSTRING_OPERATORS:
            raise InvalidFilter(f"The operator '{op}' does not apply to the dateTime attribute '{name}'.")
        if parse_datetime(value) is None:
            raise InvalidFilter(f'{_json(value)} is not an xsd:dateTime such as "2024-01-31T12:00:00Z".')
    return value


def _checked_boolean(name: str, op: str, value: Scalar) -> bool:
    # "true"/"false" as strings are accepted, as Entra sends string booleans elsewhere.
    if isinstance(value, str) and value.lower() in ("true", "false"):
        value = value.lower() == "true"
    if not isinstance(value, bool):
        raise InvalidFilter(f"'{name}' is a boolean: compare it with true or false, not {_json(value)}.")
    if op not in ("eq", "ne"):
        raise InvalidFilter(f"The operator '{op}' does not apply to the boolean attribute '{name}'.")
    return value


def _checked_number(kind: str, name: str, op: str, value: Scalar) -> int | float:
    allowed: tuple[type, ...] = (int,) if kind == INTEGER else (int, float)
    if isinstance(value, bool) or not isinstance(value, int | float) or not isinstance(value, allowed):
        raise InvalidFilter(f"'{name}' is {kind}: compare it with a number, not {_json(value)}.")
    if op in SUBSTRING_OPERATORS:
        raise InvalidFilter(f"The operator '{op}' does not apply to the {kind} attribute '{name}'.")
    return value


def _json(value: Scalar) -> str:
    return json.dumps(value)


def parse_datetime(text: str) -> datetime | None:
    """Parse an xsd:dateTime (ISO 8601, ``Z`` allowed); naive values are taken as UTC. None if invalid."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------------------------------
# Helpers for callers.


def mentions(node: FilterNode, attribute: str) -> bool:
    """Whether the filter names the (core or extension) attribute called ``attribute`` anywhere."""
    if isinstance(node, (And, Or)):
        return mentions(node.left, attribute) or mentions(node.right, attribute)
    if isinstance(node, Not):
        return mentions(node.node, attribute)
    return node.path.attribute.name.lower() == attribute.lower()


def simple_equality(node: FilterNode) -> tuple[AttributePath, str] | None:
    """``(path, value)`` when the whole filter is one ``attr eq "string"``, else None.

    Lets a caller turn ``userName eq "x"``, ``externalId eq "x"``, ``id eq "x"`` or ``displayName eq "x"``
    into a single lookup. The caller must still honour the attribute's ``caseExact`` (``path.target``).
    """
    if isinstance(node, Compare) and node.op == "eq" and isinstance(node.value, str):
        return node.path, node.value
    return None


def render(node: FilterNode) -> str:
    """Canonical filter text for ``node``, fully parenthesised; for logs, messages and tests."""
    return _render(node, None)


def _render(node: FilterNode, scope: AttributePath | None) -> str:
    if isinstance(node, Compare | Present):
        path = node.path
        name = path.dotted() if scope is None or path.sub_attribute is None else path.sub_attribute.name
        return f"{name} pr" if isinstance(node, Present) else f"{name} {node.op} {_json(node.value)}"
    if isinstance(node, And | Or):
        word = "and" if isinstance(node, And) else "or"
        return f"({_render(node.left, scope)} {word} {_render(node.right, scope)})"
    if isinstance(node, Not):
        return f"not ({_render(node.node, scope)})"
    return f"{node.path.dotted()}[{_render(node.filter, node.path)}]"


def attribute_values(resource: dict[str, Any], path: AttributePath) -> list[Any]:
    """All non-null values at ``path`` in a SCIM JSON resource, multi-valued attributes flattened.

    Extension attributes are read under their schema URN key. Names are matched exactly first, then
    case-insensitively (RFC 7643, Section 2.1).
    """
    container = _member(resource, path.schema) if path.extension else resource
    if not isinstance(container, dict):
        return []
    values = _flat([_member(container, path.attribute.name)])
    if path.sub_attribute is not None:
        values = element_values(values, path.sub_attribute.name)
    return values


def element_values(elements: list[Any], sub_name: str) -> list[Any]:
    """The non-null values of sub-attribute ``sub_name`` across ``elements`` (dicts), flattened."""
    return _flat([_member(element, sub_name) for element in elements if isinstance(element, dict)])


def _member(container: Any, name: str) -> Any:
    if not isinstance(container, dict):
        return None
    if name in container:
        return container[name]
    lowered = name.lower()
    for key, value in container.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def _flat(values: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for value in values:
        if isinstance(value, list):
            flat.extend(item for item in value if item is not None)
        elif value is not None:
            flat.append(value)
    return flat


# ---------------------------------------------------------------------------------------------------------
# In-memory evaluation.

_Lookup = Callable[[AttributePath], list[Any]]


def matches(node: FilterNode, resource: dict[str, Any]) -> bool:
    """Whether ``resource`` (SCIM JSON) satisfies ``node`` (RFC 7644, Section 3.4.2.2).

    A multi-valued attribute matches when any of its values does. Strings follow the attribute's
    ``caseExact``; dateTimes compare chronologically, numbers numerically, other strings lexicographically.
    ``ne`` is true when the attribute has no value. Values of the wrong type never match (``ne`` is true).
    """
    return _evaluate(node, lambda path: attribute_values(resource, path))


def _evaluate(node: FilterNode, lookup: _Lookup) -> bool:
    if isinstance(node, Compare):
        return _compare_values(node, lookup(node.path))
    if isinstance(node, Present):
        return any(_is_present(value) for value in lookup(node.path))
    if isinstance(node, And):
        return _evaluate(node.left, lookup) and _evaluate(node.right, lookup)
    if isinstance(node, Or):
        return _evaluate(node.left, lookup) or _evaluate(node.right, lookup)
    if isinstance(node, Not):
        return not _evaluate(node.node, lookup)
    return any(
        _evaluate(node.filter, _element_lookup(element))
        for element in lookup(node.path)
        if isinstance(element, dict)
    )


def _element_lookup(element: dict[str, Any]) -> _Lookup:
    def lookup(path: AttributePath) -> list[Any]:
        if path.sub_attribute is None:
            return [element]
        return element_values([element], path.sub_attribute.name)

    return lookup


def _is_present(value: Any) -> bool:
    """RFC 7644, Section 3.4.2.2 ``pr``: has a value that is not null and not empty."""
    if value is None:
        return False
    if isinstance(value, str | list | dict) and not value:
        return False
    if isinstance(value, list):
        return any(_is_present(item) for item in value)
    if isinstance(value, dict):
        return any(_is_present(item) for item in value.values())
    return True


def _compare_values(node: Compare, values: list[Any]) -> bool:
    if not values:
        return node.op == "ne"
    target = node.path.target
    expected = comparable(target, node.value)
    return any(_compare_one(node.op, comparable(target, value), expected) for value in values)


def comparable(attribute: Attribute, value: Any) -> Any:
    """``value`` normalised for comparing as ``attribute``'s type, or None when it does not fit the type.

    Strings of non-``caseExact`` attributes are case-folded (RFC 7643, Section 2.2); dateTimes become aware
    datetimes; booleans stay booleans; numbers stay numbers.
    """
    kind = attribute.type
    if kind == BOOLEAN:
        return value if isinstance(value, bool) else None
    if kind in (INTEGER, DECIMAL):
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if not isinstance(value, str):
        return None
    if kind == DATETIME:
        return parse_datetime(value)
    return value if attribute.case_exact else value.casefold()


def _compare_one(op: str, actual: Any, expected: Any) -> bool:
    if actual is None or expected is None:
        return op == "ne"
    if op == "eq":
        return bool(actual == expected)
    if op == "ne":
        return bool(actual != expected)
    if op in SUBSTRING_OPERATORS:
        return isinstance(actual, str) and isinstance(expected, str) and _substring(op, actual, expected)
    try:
        return _order(op, actual, expected)
    except TypeError:
        return False


def _substring(op: str, actual: str, expected: str) -> bool:
    if op == "co":
        return expected in actual
    if op == "sw":
        return actual.startswith(expected)
    return actual.endswith(expected)


def _order(op: str, actual: Any, expected: Any) -> bool:
    if op == "gt":
        return bool(actual > expected)
    if op == "ge":
        return bool(actual >= expected)
    if op == "lt":
        return bool(actual < expected)
    return bool(actual <= expected)
