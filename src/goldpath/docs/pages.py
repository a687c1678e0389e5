"""TechDocs pages of the portal, at Backstage's URLs: ``/docs`` (every entity with docs) and
``/docs/:namespace/:kind/:name/<page>`` (a built page inside the portal's layout)."""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from goldpath import __version__
from goldpath.core import jsonutil
from goldpath.core.errors import GoldpathError, NotFoundError
from goldpath.docs.content import portal_html
from goldpath.docs.model import ACTIVE, PAGES_DIR, SITE_INFO
from goldpath.docs.service import DocsService, get_docs
from goldpath.docs.storage import site_path
from goldpath.web.pages import nav_items, register_template_dir, templates

router = APIRouter(include_in_schema=False)
register_template_dir(Path(__file__).parent / "templates")
#: Seconds between reloads of a page waiting for its first build.
WAITING_REFRESH_SECONDS = 3


def docs_href(namespace: str, kind: str, name: str) -> str:
    return f"/docs/{namespace}/{kind}/{name}/".lower()


def _base(request: Request, **values: Any) -> dict[str, Any]:
    return {"nav": nav_items(request), "version": __version__, **values}


def _not_found(request: Request, what: str) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "not_found.html", _base(request, what=what), status_code=404
    )


@router.get("/docs", response_class=HTMLResponse)
def docs_list(request: Request) -> HTMLResponse:
    service = get_docs(request.app.state.platform)
    rows = []
    for row in service.overview():
        meta = row["entity"]["metadata"]
        rows.append(
            {
                **row,
                "title": meta.get("title") or meta["name"],
                "description": meta.get("description") or "",
                "kind": row["entity"]["kind"],
                "owner": (row["entity"].get("spec") or {}).get("owner") or "",
                "href": docs_href(meta["namespace"], row["entity"]["kind"], meta["name"]),
            }
        )
    return templates.TemplateResponse(request, "docs_list.html", _base(request, rows=rows))


@router.get("/docs/{namespace}/{kind}/{name}", response_class=HTMLResponse)
def docs_root(namespace: str, kind: str, name: str) -> RedirectResponse:
    return RedirectResponse(docs_href(namespace, kind, name), status_code=307)


@router.post("/docs/{namespace}/{kind}/{name}/rebuild")
def rebuild(request: Request, namespace: str, kind: str, name: str) -> Response:
    service = get_docs(request.app.state.platform)
    try:
        service.request_entity_build(kind, namespace, name)
    except NotFoundError:
        return _not_found(request, f"{kind}:{namespace}/{name}")
    except GoldpathError:
        pass  # a source that cannot be read: the page's status panel says why
    return RedirectResponse(docs_href(namespace, kind, name), status_code=303)


def _site_file(service: DocsService, ref: tuple[str, str, str], path: str) -> Any:
    kind, namespace, name = ref
    data = service.read(kind, namespace, name, path)
    return jsonutil.loads(data) if data is not None else None


def _page_path(path: str) -> str:
    inner = site_path(path)
    if inner == "" or path.endswith("/"):
        return f"{inner}/index.html" if inner else "index.html"
    return inner


@router.get("/docs/{namespace}/{kind}/{name}/{path:path}", response_class=HTMLResponse)
def docs_page(request: Request, namespace: str, kind: str, name: str, path: str) -> Response:
    service = get_docs(request.app.state.platform)
    try:
        entity = service.entity(kind, namespace, name)
        status = service.status(kind, namespace, name)
        wanted = _page_path(path)
    except (NotFoundError, GoldpathError):
        return _not_found(request, f"docs of {kind}:{namespace}/{name}/{path}")
    ref = (kind, namespace, name)
    base = docs_href(namespace, kind, name)
    static = f"/api/techdocs/static/docs/{namespace}/{kind}/{name}/".lower()
    latest = status["latest"]
    site: dict[str, Any] | None = None
    page: dict[str, Any] | None = None
    if status["metadata"] is not None:
        site = _site_file(service, ref, SITE_INFO) or {"nav": [], "paths": []}
        page = _site_file(service, ref, f"{PAGES_DIR}/{wanted}.json")
        if page is None and not path.endswith("/") and path:
            if _site_file(service, ref, f"{PAGES_DIR}/{wanted}/index.html.json") is not None:
                return RedirectResponse(f"{base}{site_path(path)}/", status_code=307)
            if service.read(kind, namespace, name, wanted) is not None:
                return RedirectResponse(f"{static}{wanted}", status_code=307)
    html = ""
    if page is not None and site is not None:
        paths = set(site.get("paths") or [])
        html = portal_html(
            str(page.get("content") or ""),
            page_url=str(page.get("url") or ""),
            docs_base=base,
            static_base=static,
            is_page=paths.__contains__,
        )
    waiting = site is None and (latest is None or latest.status in ACTIVE)
    meta = entity["metadata"]
    context = _base(
        request,
        entity=entity,
        title=meta.get("title") or meta["name"],
        entity_href=f"/catalog/{namespace}/{kind}/{name}".lower(),
        base=base,
        status=status,
        latest=latest,
        site=site,
        site_nav=_nav(site, base, wanted) if site else [],
        page=page,
        html=html,
        waiting=waiting,
        refresh=WAITING_REFRESH_SECONDS if waiting and latest is not None else None,
        rebuild_action=f"{base}rebuild",
    )
    code = 404 if site is not None and page is None else 200
    return templates.TemplateResponse(request, "docs_page.html", context, status_code=code)


def _nav(site: dict[str, Any], base: str, current: str) -> list[dict[str, Any]]:
    """The site's navigation with portal links, the current page marked."""

    def walk(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for item in items:
            entry: dict[str, Any] = {"title": item.get("title") or ""}
            if "children" in item:
                entry["children"] = walk(item["children"])
                entry["open"] = any(c.get("current") or c.get("open") for c in entry["children"])
            elif item.get("external"):
                entry["href"] = item.get("url") or ""
                entry["external"] = True
            else:
                entry["href"] = base + str(item.get("url") or "")
                entry["current"] = posixpath.normpath(str(item.get("path") or "")) == current
            out.append(entry)
        return out

    return walk(list(site.get("nav") or []))
