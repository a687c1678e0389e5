"""The ``docs.build`` task: read the source, build it in isolation, store the site, tell plugins.

Its build record tells the story as it goes (``building`` with a live log, then ``succeeded``
or ``failed`` with a one-line error). A failure stores nothing, so the last good site stays
served. A check (not forced) whose source is unchanged since the last build removes its
queued record and reports ``{"updated": false}``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from goldpath.core.errors import GoldpathError, NotFoundError
from goldpath.core.logging import get_logger
from goldpath.core.tasks import PermanentTaskError, TaskCancelled, TaskContext
from goldpath.docs.builder import NO_CONFIG, Builder, find_config, write_metadata
from goldpath.docs.content import text_and_sections
from goldpath.docs.model import FINISHED, Build

if TYPE_CHECKING:
    from goldpath.docs.service import DocsService

log = get_logger("goldpath.docs")


def run_build(service: DocsService, ctx: TaskContext) -> dict[str, Any]:
    from goldpath.docs.service import _error_fingerprint, storage_key

    payload = ctx.task.payload
    key = str(payload["entityRef"])
    force = bool(payload.get("force"))
    record = service.store.by_task(ctx.task.id) or service.store.create(
        key, str(payload.get("reason") or "requested"), task_id=ctx.task.id
    )

    def fail(error: str, lines: list[str], **values: Any) -> NoReturn:
        text = "\n".join([*lines, f"ERROR   -  {error}"])
        service.store.finish(record.id, "failed", log=text, error=error, **values)
        log.info("docs build failed", entity=key, error=error)
        raise PermanentTaskError(error)

    try:
        entity = service.entity_by_key(key)
    except NotFoundError:
        fail(f"{key} is no longer in the catalog", [])
    last = service.store.latest(key, FINISHED)
    try:
        source = service.resolve(entity)
        fingerprint = service.sources.fingerprint(source, entity)
    except GoldpathError as exc:
        failed_hash = _error_fingerprint(exc)
        if not force and last is not None and last.source_hash == failed_hash:
            return _unchanged(service, record)
        fail(str(exc), [f"Building docs for {key}"], source_hash=failed_hash)
    # A failed build of this very source would only fail again; a good one is served.
    if (
        not force
        and last is not None
        and last.source_hash == fingerprint
        and (last.status == "failed" or service.storage.metadata(storage_key(key)) is not None)
    ):
        return _unchanged(service, record)
    service.store.start(record.id, source=source.describe(), source_hash=fingerprint)
    lines = [f"Building docs for {key}", f"Source: {source.describe()}"]
    if source.path is not None and source.path.is_dir() and find_config(source.path) is None:
        fail(NO_CONFIG, lines)  # before copying a folder that holds no docs at all
    settings = service.settings
    build_root = settings.build_dir
    if build_root is not None:
        Path(build_root).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="goldpath-techdocs-", dir=build_root) as tmp:
        work = Path(tmp)
        try:
            notes = service.sources.materialize(
                source, work / "source", max_bytes=int(settings.max_source_mb * 1_000_000)
            )
        except GoldpathError as exc:
            fail(f"cannot read the docs source: {exc}", lines)
        builder = Builder(timeout=settings.build_timeout_seconds, strict=settings.strict)
        try:
            outcome = builder.run(
                work / "source",
                work,
                log_prefix=[*lines, *notes],
                on_log=lambda text: service.store.set_log(record.id, text),
                heartbeat=ctx.heartbeat,
            )
        except TaskCancelled:
            if service.platform.tasks.get(ctx.task.id).status == "cancelled":
                service.store.finish(record.id, "failed", log="\n".join(lines), error="cancelled")
            raise
        except Exception as exc:
            # Retried by the queue; the record says what happened meanwhile.
            service.store.finish(
                record.id, "failed", log="\n".join(lines), error=f"{type(exc).__name__}: {exc}"
            )
            raise
        if not outcome.ok:
            service.store.finish(
                record.id,
                "failed",
                log=outcome.log,
                error=outcome.error,
                warnings=outcome.warnings,
            )
            log.info("docs build failed", entity=key, error=outcome.error)
            raise PermanentTaskError(outcome.error or "the build failed")
        site = work / "site"
        write_metadata(
            site,
            site_name=outcome.site_name,
            site_description=outcome.site_description,
            etag=fingerprint,
        )
        service.storage.put_site(storage_key(key), site)
    service.store.finish(
        record.id,
        "succeeded",
        log=outcome.log,
        warnings=outcome.warnings,
        pages=len(outcome.pages),
    )
    service.store.prune(key, settings.keep_builds)
    log.info("docs built", entity=key, pages=len(outcome.pages), warnings=outcome.warnings)
    _announce(service, key, outcome.pages)
    return {"updated": True, "buildId": record.id, "pages": len(outcome.pages)}


def _unchanged(service: DocsService, record: Build) -> dict[str, Any]:
    service.store.delete(record.id)
    return {"updated": False}


def search_pages(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What ``goldpath_docs_built`` gets: ``{path, title, text, sections}`` per page, where
    ``path`` is the page's URL inside the site (``""`` for the home page, ``runbook/``)."""
    out = []
    for page in pages:
        text, sections = text_and_sections(str(page.get("content") or ""))
        out.append(
            {
                "path": str(page.get("url") or ""),
                "title": str(page.get("title") or ""),
                "text": text,
                "sections": sections,
            }
        )
    return out


def _announce(service: DocsService, key: str, pages: list[dict[str, Any]]) -> None:
    try:
        service.platform.plugins.hook.goldpath_docs_built(
            platform=service.platform, entity_ref=key, pages=search_pages(pages)
        )
    except Exception:
        # The site is built and stored whatever a plugin makes of it.
        log.exception("a goldpath_docs_built hook failed", entity=key)
