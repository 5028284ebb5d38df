"""The fake DailyBot server's one routing table: method + path template → handler.

Paths are templates such as ``/v1/teams/{id}/members/``: each ``{name}`` matches one path segment
(handed to the handler in :attr:`Request.params`) and the trailing slash is optional, as Django's
``APPEND_SLASH`` makes it for DailyBot. Templates are tried in the order they were first added; the
first that matches owns the path (so ``/v1/webhook-subscription/sample/`` must come before
``/v1/webhook-subscription/{id}/``). Then, as in Django REST framework:

1. the router's *checks* run (authentication, plan), for every matched path;
2. the method picks the route (``HEAD`` is served as ``GET``); none: 405 with ``Allow``;
3. the route's own *guards* run (role checks), then its handler.

An unmatched path is a 404. A route whose ``enabled`` predicate answers false is left out of both
the dispatch and the ``Allow`` header (a DELETE form the server is switched not to understand).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from airflow_provider_dailybot.testing.wire import Request, Response, method_not_allowed, not_found

#: A handler answers a request (its path parameters are in ``request.params``).
Handler = Callable[[Request], Response]
#: A check or guard answers a refusal, or ``None`` to let the request through.
Guard = Callable[[Request], Response | None]

_PARAMETER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    """One method on one path template.

    :param method: The HTTP method.
    :param handler: Answers the request.
    :param guards: Run after the method matched, before the handler.
    :param enabled: Whether the route exists right now (``None``: always).
    """

    method: str
    handler: Handler
    guards: tuple[Guard, ...] = ()
    enabled: Callable[[], bool] | None = None

    def is_enabled(self) -> bool:
        """Whether the route exists right now."""
        return self.enabled is None or self.enabled()


@dataclass
class _Path:
    template: str
    pattern: re.Pattern[str]
    routes: dict[str, Route] = field(default_factory=dict)


def compile_template(template: str) -> re.Pattern[str]:
    """Compile a path template (``/v1/users/{id}/``) to an anchored regular expression.

    :param template: Literal segments and ``{name}`` placeholders; the trailing slash is optional.
    """
    parts = _PARAMETER.split(template.rstrip("/"))
    # split() alternates literal text and placeholder names: even indexes literal, odd names.
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts))
    return re.compile(f"^{regex}/?$")


class Router:
    """Dispatches requests to handlers; see the module docstring for the order of the steps.

    :param checks: Run for every matched path, before the method is looked at.
    """

    def __init__(self, checks: Sequence[Guard] = ()) -> None:
        self._checks = tuple(checks)
        self._paths: list[_Path] = []

    def add(
        self,
        method: str,
        template: str,
        handler: Handler,
        *,
        guards: Sequence[Guard] = (),
        enabled: Callable[[], bool] | None = None,
    ) -> None:
        """Register ``handler`` for ``method`` on ``template``.

        :param method: The HTTP method (upper case).
        :param template: The path template.
        :param handler: Answers the request.
        :param guards: Run after the method matched, before the handler.
        :param enabled: Whether the route exists right now (``None``: always).
        :raises ValueError: When the method is already registered on that template.
        """
        path = next((p for p in self._paths if p.template == template), None)
        if path is None:
            path = _Path(template, compile_template(template))
            self._paths.append(path)
        if method in path.routes:
            raise ValueError(f"{method} {template} is registered twice")
        path.routes[method] = Route(method, handler, tuple(guards), enabled)

    def dispatch(self, request: Request) -> Response:
        """Answer ``request`` with the handler its method and path select, or DRF's 404/405.

        :param request: The request; its ``params`` are filled in from the path.
        """
        for path in self._paths:
            match = path.pattern.match(request.path)
            if match is not None:
                break
        else:
            return not_found()
        for check in self._checks:
            refused = check(request)
            if refused is not None:
                return refused
        method = "GET" if request.method == "HEAD" else request.method
        route = path.routes.get(method)
        if route is None or not route.is_enabled():
            allowed = tuple(r.method for r in path.routes.values() if r.is_enabled())
            return method_not_allowed(request.method, allowed)
        for guard in route.guards:
            refused = guard(request)
            if refused is not None:
                return refused
        request.params = match.groupdict()
        return route.handler(request)
