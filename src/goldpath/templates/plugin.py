"""Registers the built-in golden paths in the catalog at start, as any template would be.

The package's template folders are copied into ``<data dir>/templates/builtin`` (inside the
catalog's file roots, and what ``fetch:*`` actions read relative to) and registered as one
glob location. A copy is refreshed when the installed package's templates change.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from goldpath.core.hookspecs import hookimpl
from goldpath.core.logging import get_logger

if TYPE_CHECKING:
    from goldpath.core.platform import Platform

log = get_logger("goldpath.templates")
PACKAGE_DIR = Path(__file__).parent
STAMP = ".goldpath-templates-hash"


def package_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and not _is_module(path):
            digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _is_module(path: Path) -> bool:
    """This package's own Python files; skeletons' .py files are template content."""
    return path.parent == PACKAGE_DIR and path.suffix in (".py", ".pyc")


def _ignore(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n == "__pycache__" or _is_module(Path(folder) / n)}


def template_folders() -> list[Path]:
    return sorted(p.parent for p in PACKAGE_DIR.glob("*/template.yaml"))


def builtin_dir(platform: Platform) -> Path:
    return (platform.settings.data_dir / "templates" / "builtin").resolve()


def install(platform: Platform) -> int:
    """Copy the built-in templates into the data dir (if changed) and register them."""
    from goldpath.catalog.service import get_catalog

    section = platform.settings.plugins.get("templates") or {}
    if isinstance(section, dict) and section.get("builtin") is False:
        return 0  # an installation that wants only its own templates
    folders = template_folders()
    if not folders:
        return 0
    target = builtin_dir(platform)
    wanted = package_hash()
    stamp = target / STAMP
    if not stamp.is_file() or stamp.read_text() != wanted:
        staging = target.with_name(target.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(PACKAGE_DIR, staging, ignore=_ignore, symlinks=True)
        (staging / STAMP).write_text(wanted)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    catalog = get_catalog(platform)
    pattern = str(target / "*" / "template.yaml")
    location = catalog.find_location("file", pattern)
    if location is None:
        catalog.add_location("file", pattern, refresh=False)
        location = catalog.find_location("file", pattern)
    assert location is not None
    report = catalog.refresh_location_now(location.id)
    log.info("built-in golden paths registered", templates=len(folders), errors=len(report.errors))
    return len(folders)


@hookimpl
def goldpath_startup(platform: Platform) -> None:
    install(platform)
