"""URL rules whose URL builders are made once per process instead of once per app.

Werkzeug turns every rule it adds to an app's URL map into two builder functions (for ``url_for``), generating
and compiling Python code each time: about half a millisecond per rule, most of what creating a bridge app costs.
The generated code depends only on the rule's shape (its static and variable parts, and the values of the
defaults it folds in); everything else it reaches through the rule it is bound to when called. Rules of the
same shape (the same rule in another app of the process, as when a test run starts hundreds of bridges)
therefore share one builder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from typing import ClassVar

from werkzeug.routing import Rule

Builder = Callable[..., tuple[str, str]]


class SharedBuilderRule(Rule):
    """A werkzeug Rule that reuses the builder of an earlier rule of the same shape (``Flask.url_rule_class``)."""

    builders: ClassVar[dict[tuple[Any, ...], Builder]] = {}

    def _compile_builder(self, append_unknown: bool = True) -> Builder:
        defaults = self.defaults or {}
        # Werkzeug folds a default given for a variable part into the code as that converter's URL text.
        folded = tuple(self._converters[data].to_url(defaults[data])
                       for dynamic, data in self._trace if dynamic and data in defaults)
        key = (append_unknown, tuple(self._trace), tuple(defaults), folded)
        builder = self.builders.get(key)
        if builder is None:
            builder = self.builders.setdefault(key, super()._compile_builder(append_unknown))
        return builder
