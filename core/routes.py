"""The route table: core's own routes plus every loaded dialect's, matched per request.

The table is rebuilt when the set of loaded dialects changes (a plugin dropped in while
ccrelay runs brings its routes with it). A path that matches nothing is answered by the
dialect whose routes look most like it, so a Gemini client's typo gets a Gemini error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.routing import Map, Rule

from ccrelay.core.dialect import Dialect, Route

#: routes core answers itself, for every dialect at once
CORE_ROUTES = (
    Route("/", ("GET",), "root", kind="info"),
    Route("/health", ("GET",), "health", kind="info"),
    # today's requests from the token log, for the status page (core/statuspage.py)
    Route("/status", ("GET",), "status", kind="info"),
    Route("/metrics", ("GET",), "metrics", kind="info"),
    # One model list for every SDK that reads /v1/models (anthropic, openai, google-genai):
    # each dialect adds its own fields (Dialect.describe_model).
    Route("/v1/models", ("GET",), "models", kind="info"),
    Route("/v1/models/<path:model_id>", ("GET",), "model", kind="info"),
)


@dataclass(frozen=True)
class Target:
    """What a matched rule leads to: a core route (``dialect`` None) or a dialect's."""

    dialect: Dialect | None
    route: Route


class RouteTable:
    """Werkzeug rules for the dialects of one registry state."""

    def __init__(self, dialects: Mapping[str, Dialect]) -> None:
        self.dialects = dialects
        self.targets: dict[str, Target] = {}
        self.conflicts: list[str] = []
        rules: list[Rule] = []
        seen: dict[tuple[str, str], str] = {}
        owners: list[tuple[Dialect | None, tuple[Route, ...]]] = [(None, CORE_ROUTES)]
        owners += [(d, d.routes) for d in dialects.values()]
        for dialect, routes in owners:
            owner = dialect.name if dialect is not None else "core"
            for i, route in enumerate(routes):
                taken = [m for m in route.methods if (route.rule, m) in seen]
                if taken:
                    self.conflicts.append(
                        f"{owner}: {','.join(taken)} {route.rule} is already served by "
                        f"{seen[(route.rule, taken[0])]}"
                    )
                    continue
                for m in route.methods:
                    seen[(route.rule, m)] = owner
                endpoint = f"{owner}:{i}"
                self.targets[endpoint] = Target(dialect, route)
                rules.append(Rule(route.rule, endpoint=endpoint, methods=list(route.methods)))
        self.map = Map(rules, strict_slashes=False, merge_slashes=False)

    def match(self, path: str, method: str) -> tuple[Target, Mapping[str, Any]]:
        """The target for a request.

        :raises werkzeug.exceptions.NotFound, MethodNotAllowed: as werkzeug does.
        """
        endpoint, args = self.map.bind("localhost").match(path, method)
        return self.targets[endpoint], args

    def guess(self, path: str) -> Dialect | None:
        """The dialect whose routes share the longest leading path with ``path``."""
        want = [p for p in path.split("/") if p]
        best: tuple[int, Dialect | None] = (0, None)
        for dialect in self.dialects.values():
            for route in dialect.routes:
                parts = [p for p in route.rule.split("/") if p]
                n = 0
                for a, b in zip(parts, want, strict=False):
                    if a != b and not a.startswith("<"):
                        break
                    n += 1
                if n > best[0]:
                    best = (n, dialect)
        return best[1]
