"""The home page's built-in cards, registered through ``goldpath_home_cards`` like any
plugin's: your team's services, golden paths to start from, recent runs, the catalog."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from goldpath.core import jsonutil
from goldpath.core.platform import Platform

TEAM_COOKIE = "goldpath_team"


def chosen_team(request: Request, platform: Platform) -> str | None:
    """The team the visitor picked (query, then cookie), else the one owning most services."""
    picked = request.query_params.get("team") or request.cookies.get(TEAM_COOKIE)
    if picked:
        return picked
    queries = platform.services["catalog"].queries
    owners = queries.facets(["spec.owner"], ["kind=component"])["facets"]["spec.owner"]
    if not owners:
        return None
    top = str(max(owners, key=lambda facet: (facet["count"], facet["value"]))["value"])
    return top if ":" in top else f"group:default/{top}"


def _render(name: str, **context: Any) -> str:
    from goldpath.web.pages import templates

    return templates.get_template(f"cards/{name}.html").render(**context)


def _entities(platform: Platform, filter: Any, limit: int) -> tuple[list[dict[str, Any]], int]:
    page = platform.services["catalog"].queries.query_page(
        filter=filter, limit=limit, order_fields="metadata.name"
    )
    return [jsonutil.loads(body) for body in page.bodies], page.total


def team_card(platform: Platform) -> dict[str, Any]:
    def render(request: Request) -> str:
        team = chosen_team(request, platform)
        groups, _ = _entities(platform, "kind=group", 500)
        owned, total = (
            _entities(platform, [f"kind=component,relations.ownedBy={team}"], 8)
            if team
            else ([], 0)
        )
        return _render("team", team=team, groups=groups, owned=owned, total=total)

    return {"id": "team", "title": "Your team's services", "order": 10, "render": render}


def golden_paths_card(platform: Platform) -> dict[str, Any]:
    def render(request: Request) -> str:
        found, _ = _entities(platform, "kind=template", 12)
        return _render("golden_paths", templates=found)

    return {
        "id": "golden-paths",
        "title": "Start from a golden path",
        "order": 20,
        "render": render,
    }


def tasks_card(platform: Platform) -> dict[str, Any]:
    def render(request: Request) -> str:
        scaffolder = platform.services.get("scaffolder")
        tasks = scaffolder.list_tasks(limit=6)[0] if scaffolder is not None else []
        return _render("tasks", tasks=tasks)

    return {"id": "tasks", "title": "Recent golden-path runs", "order": 30, "render": render}


def catalog_card(platform: Platform) -> dict[str, Any]:
    def render(request: Request) -> str:
        kinds = platform.services["catalog"].queries.facets(["kind"], None)["facets"]["kind"]
        return _render("catalog", kinds=sorted(kinds, key=lambda facet: -facet["count"]))

    return {"id": "catalog", "title": "Software catalog", "order": 40, "render": render}


def builtin_cards(platform: Platform) -> list[dict[str, Any]]:
    return [
        team_card(platform),
        golden_paths_card(platform),
        tasks_card(platform),
        catalog_card(platform),
    ]
