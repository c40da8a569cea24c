"""Filter text (RFC 7644, Section 3.4.2.2) into the IR of :mod:`scim_bridge.scim.filters.nodes`.

Grammar work is done by scim2-filter-parser's ``SCIMParser`` over the tokens of
:mod:`scim_bridge.scim.filters.tokens`. The parser gives ``and`` and ``or`` the same precedence, so every
unparenthesised chain is regrouped here to the RFC order (``not`` > ``and`` > ``or``). Each comparison is
checked against its attribute's type.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from scim2_filter_parser import ast as scim_ast

from scim_bridge.scim.errors import InvalidFilter
from scim_bridge.scim.errors import ScimError
from scim_bridge.scim.filters.evaluate import parse_datetime
from scim_bridge.scim.filters.nodes import COMPARE_OPERATORS
from scim_bridge.scim.filters.nodes import SUBSTRING_OPERATORS
from scim_bridge.scim.filters.nodes import And
from scim_bridge.scim.filters.nodes import Compare
from scim_bridge.scim.filters.nodes import FilterNode
from scim_bridge.scim.filters.nodes import Not
from scim_bridge.scim.filters.nodes import Or
from scim_bridge.scim.filters.nodes import Present
from scim_bridge.scim.filters.nodes import Scalar
from scim_bridge.scim.filters.nodes import ValuePath
from scim_bridge.scim.filters.tokens import parse_tree
from scim_bridge.scim.filters.tokens import tokenize
from scim_bridge.scim.schema import BOOLEAN
from scim_bridge.scim.schema import COMPLEX
from scim_bridge.scim.schema import DATETIME
from scim_bridge.scim.schema import DECIMAL
from scim_bridge.scim.schema import INTEGER
from scim_bridge.scim.schema import Attribute
from scim_bridge.scim.schema import AttributePath
from scim_bridge.scim.schema import ResourceType


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
        tree = parse_tree(tokenize(text))
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


