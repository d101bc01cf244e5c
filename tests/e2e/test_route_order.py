"""The API matches its hottest routers first (``app.match_first``: the operations and the
disputes), not in the order they were registered. That must change nothing but the time a
match takes: every path of every route, with every method, finds the same route (or the same
405 candidate, or nothing) in both orders, every route name builds the same URL, and the
OpenAPI document still lists the operations in registration order."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from e2e.support import World
from fairdeal.entrypoints.api import app as app_module
from fairdeal.entrypoints.api.app import create_app

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _leaves(routes: list[BaseRoute]) -> list[BaseRoute]:
    """Every route, those of the included routers too."""
    found: list[BaseRoute] = []
    for route in routes:
        router = getattr(route, "original_router", None)
        found.extend(_leaves(router.routes) if router is not None else [route])
    return found


def _example(path_format: str) -> str:
    """A concrete path for a route's template: each parameter becomes a value of its own."""
    return re.sub(r"\{[^}]+\}", "x1", path_format)


def _matched(api: FastAPI, method: str, path: str) -> tuple[str, str | None]:
    """What the application's router picks for the request, as Starlette's loop does: the
    first full match, else the first partial one (a 405), else nothing."""
    scope: Scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
    partial = None
    for route in api.router.routes:
        match, _child = route.matches(scope)
        if match == Match.FULL:
            return "full", _describe(route, scope)
        if match == Match.PARTIAL and partial is None:
            partial = _describe(route, scope)
    return ("partial", partial) if partial is not None else ("none", None)


def _describe(route: BaseRoute, scope: Scope) -> str:
    """The route itself for a plain one, the included router's pick for an included one."""
    included = getattr(route, "_match", None)  # FastAPI's included router: which of its routes
    chosen = included(scope)[2] if included is not None else route
    endpoint = getattr(chosen, "endpoint", None)
    function = getattr(endpoint, "__qualname__", None)  # each app has its own closures
    methods = sorted(getattr(chosen, "methods", None) or ())
    return f"{getattr(chosen, 'path', None)} {methods} {getattr(chosen, 'name', None)} {function}"


@pytest.fixture
def two_apps(world: World, monkeypatch: pytest.MonkeyPatch) -> tuple[FastAPI, FastAPI]:
    """The application as served, and one built from the same App in registration order."""
    served = world.http.app
    assert isinstance(served, FastAPI)
    monkeypatch.setattr(app_module, "match_first", lambda api, routers: None)
    registered = create_app(world.app)
    return served, registered


def test_the_hot_routers_are_matched_first(two_apps: tuple[FastAPI, FastAPI]) -> None:
    served, _registered = two_apps
    first = [getattr(leaf, "path", None) for leaf in _leaves(served.router.routes)[:3]]
    assert first == ["/healthz", "/readyz", "/metrics"]


def test_every_request_finds_the_same_route_in_both_orders(
    two_apps: tuple[FastAPI, FastAPI],
) -> None:
    served, registered = two_apps
    paths = {
        _example(template)
        for leaf in _leaves(registered.router.routes)
        if isinstance(template := getattr(leaf, "path_format", None), str)
    }
    paths |= {path + "/extra" for path in paths} | {"/", "/nowhere", "/static/app.css"}
    assert len(paths) > 100
    answers = set()
    for path in sorted(paths):
        for method in METHODS:
            answer = _matched(served, method, path)
            assert answer == _matched(registered, method, path), (method, path)
            answers.add(answer)
    assert len(answers) > 100  # routes told apart, not one answer for every request


def test_every_route_name_builds_the_same_url(two_apps: tuple[FastAPI, FastAPI]) -> None:
    served, registered = two_apps
    for leaf in _leaves(registered.router.routes):
        name, template = getattr(leaf, "name", None), getattr(leaf, "path_format", None)
        if not name or not isinstance(template, str):
            continue
        params = {p: "x1" for p in re.findall(r"\{([^}:]+)", template)}
        try:
            expected = registered.url_path_for(name, **params)
        except Exception:  # a name whose first route takes other parameters
            continue
        assert served.url_path_for(name, **params) == expected, name


def test_the_document_keeps_the_registration_order(two_apps: tuple[FastAPI, FastAPI]) -> None:
    served, registered = two_apps
    assert list(served.openapi()["paths"]) == list(registered.openapi()["paths"])
    assert served.openapi() == registered.openapi()
