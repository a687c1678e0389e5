"""Loads the demo organisation: copies its catalog into the data dir and registers it.

Copying (instead of reading from the installed package) keeps file locations inside the
configured roots and lets a newcomer edit the files and watch the catalog follow.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from goldpath.core.hookspecs import hookimpl

if TYPE_CHECKING:
    from goldpath.core.platform import Platform

log = structlog.get_logger("goldpath.demo")
DEMO_CATALOG = Path(__file__).parent / "catalog"


def demo_catalog_dir(platform: Platform) -> Path:
    return (platform.settings.data_dir / "demo" / "catalog").resolve()


@hookimpl
def goldpath_demo_data(platform: Platform) -> None:
    from goldpath.catalog.service import get_catalog

    target_dir = demo_catalog_dir(platform)
    if not target_dir.exists():
        shutil.copytree(DEMO_CATALOG, target_dir)
    catalog = get_catalog(platform)
    root = str(target_dir / "org.yaml")
    location = catalog.find_location("file", root)
    if location is None:
        catalog.add_location("file", root, refresh=False)
        location = catalog.find_location("file", root)
    assert location is not None
    report = catalog.refresh_location_now(location.id)
    log.info("demo organisation loaded", entities=report.entities, errors=len(report.errors))
