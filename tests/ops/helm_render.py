"""A small renderer for the subset of Helm's Go templates that deploy/helm/scim-bridge uses.

Supported: ``{{ .Values.a.b }}``, ``.Release.*`` and ``.Chart.*`` lookups, string and integer
literals, pipelines, ``{{- if EXPR }} ... {{- else }} ... {{- end }}``, whitespace trimming with
``{{-`` and ``-}}``, and the functions quote, default, toYaml, nindent, indent, printf, not, and, or,
eq. Anything else raises, so a template that outgrows this subset fails its test instead of
rendering wrongly. A missing value path raises too (Helm would render it empty).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
WORD = re.compile(r'"(?:[^"\\]|\\.)*"|[^\s]+')


class TemplateError(ValueError):
    pass


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, "", [], {})


def _to_yaml(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=False).rstrip("\n").removesuffix("\n...")


def _indent(n: int, text: str) -> str:
    return "\n".join((" " * n + line) if line else line for line in _fmt(text).split("\n"))


def _printf(fmt: str, *args: Any) -> str:
    values = iter(args)
    return re.sub(r"%[vsd]", lambda _m: _fmt(next(values)), fmt)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "quote": lambda v: json.dumps(_fmt(v)),
    "default": lambda d, v: v if _truthy(v) else d,
    "toYaml": _to_yaml,
    "nindent": lambda n, s: "\n" + _indent(int(n), s),
    "indent": lambda n, s: _indent(int(n), s),
    "printf": _printf,
    "not": lambda v: not _truthy(v),
    "and": lambda *vs: all(_truthy(v) for v in vs),
    "or": lambda *vs: any(_truthy(v) for v in vs),
    "eq": lambda a, b: a == b,
}


def _lookup(path: str, context: dict[str, Any]) -> Any:
    value: Any = context
    for part in path.strip(".").split("."):
        if not isinstance(value, dict) or part not in value:
            raise TemplateError(f"no value at {path}")
        value = value[part]
    return value


def _atom(word: str, context: dict[str, Any]) -> Any:
    if word.startswith("."):
        return _lookup(word, context)
    if word.startswith('"'):
        return json.loads(word)
    if re.fullmatch(r"-?\d+", word):
        return int(word)
    if word in ("true", "false"):
        return word == "true"
    raise TemplateError(f"unsupported term {word!r}")


def _command(words: list[str], context: dict[str, Any], piped: list[Any]) -> Any:
    head, *rest = words
    if head in FUNCTIONS:
        return FUNCTIONS[head](*[_atom(w, context) for w in rest], *piped)
    if rest or piped:
        raise TemplateError(f"unsupported function {head!r}")
    return _atom(head, context)


def evaluate(expr: str, context: dict[str, Any]) -> Any:
    commands = [WORD.findall(c) for c in _split_pipes(expr)]
    if not commands or not all(commands):
        raise TemplateError(f"empty pipeline in {{{{ {expr} }}}}")
    value = _command(commands[0], context, [])
    for words in commands[1:]:
        value = _command(words, context, [value])
    return value


def _split_pipes(expr: str) -> list[str]:
    parts, current, quoted = [], "", False
    for ch in expr:
        if ch == '"':
            quoted = not quoted
        if ch == "|" and not quoted:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts]


def _tokens(template: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos, trim_next = 0, False
    for match in ACTION.finditer(template):
        text = template[pos : match.start()]
        if trim_next:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        out.append(("text", text))
        out.append(("action", match.group(2).strip()))
        trim_next = bool(match.group(3))
        pos = match.end()
    tail = template[pos:]
    out.append(("text", tail.lstrip() if trim_next else tail))
    return out


def render(template: str, context: dict[str, Any]) -> str:
    # Each frame: [output pieces, condition of the enclosing if, in the else branch, parent active]
    stack: list[tuple[bool, bool, bool]] = []  # (condition, in_else, active_before)
    active = True
    out: list[str] = []
    for kind, body in _tokens(template):
        if kind == "text":
            if active:
                out.append(body)
            continue
        if body.startswith("if "):
            cond = _truthy(evaluate(body[3:], context)) if active else False
            stack.append((cond, False, active))
            active = active and cond
        elif body == "else":
            if not stack:
                raise TemplateError("else without if")
            cond, _in_else, before = stack.pop()
            stack.append((cond, True, before))
            active = before and not cond
        elif body == "end":
            if not stack:
                raise TemplateError("end without if")
            active = stack.pop()[2]
        elif body.startswith(("range ", "with ", "define ", "template ", "include ", "block ")) or body.startswith(
            "/*"
        ):
            raise TemplateError(f"unsupported action {{{{ {body} }}}}")
        elif active:
            out.append(_fmt(evaluate(body, context)))
    if stack:
        raise TemplateError("if without end")
    return "".join(out)


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def render_chart(chart_dir: Path, overrides: dict[str, Any] | None = None,
                 release: str = "scim-bridge") -> dict[str, list[dict[str, Any]]]:
    """Render every template; returns {template file name: [Kubernetes objects]}."""
    chart = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    values = deep_merge(yaml.safe_load((chart_dir / "values.yaml").read_text()), overrides or {})
    context = {
        "Values": values,
        "Release": {"Name": release, "Namespace": "default", "Service": "Helm"},
        "Chart": {"Name": chart["name"], "Version": chart["version"], "AppVersion": chart["appVersion"]},
    }
    rendered: dict[str, list[dict[str, Any]]] = {}
    for path in sorted((chart_dir / "templates").glob("*.yaml")):
        text = render(path.read_text(), context)
        rendered[path.name] = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    return rendered
