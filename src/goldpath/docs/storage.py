"""Where built sites live: a small interface, and a local folder that implements it.

A site is stored whole or not at all: ``put_site`` makes a new version beside the current
one and then swaps one symbolic link, so a reader sees either the old site or the new one,
never half of each. An object store can implement the same five methods (write the new
version under a fresh prefix, then move a pointer object).
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import uuid
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from goldpath.core import jsonutil
from goldpath.core.errors import ConfigError, InputError, NotAllowedError
from goldpath.docs.model import METADATA_FILE, DocsSettings

if TYPE_CHECKING:
    from goldpath.core.platform import Platform

_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")
_CURRENT = "current"


def site_key(namespace: str, kind: str, name: str) -> str:
    """``namespace/kind/name`` in lower case (as Backstage's local publisher lays it out)."""
    parts = []
    for what, value in (("namespace", namespace), ("kind", kind), ("name", name)):
        text = str(value or "")
        if not _PART.fullmatch(text) or text in (".", ".."):
            raise InputError(f"invalid entity {what} {value!r}", where=what)
        parts.append(text.lower())
    return "/".join(parts)


def site_path(path: str) -> str:
    """A path inside a site, normalised; never absolute and never above the site root."""
    text = str(path or "")
    if any(c in text for c in "\x00\\") or any(ord(c) < 32 for c in text):
        raise NotAllowedError(f"invalid path {path!r}", where="path")
    pure = PurePosixPath(text.lstrip("/"))
    if ".." in pure.parts:
        raise NotAllowedError(f"path {path!r} leaves the site", where="path")
    cleaned = pure.as_posix()
    return "" if cleaned == "." else cleaned


@runtime_checkable
class SiteStorage(Protocol):
    """Built sites by entity (``site_key``) and path inside the site (``site_path``)."""

    def put_site(self, key: str, folder: Path) -> None:
        """Store every file under ``folder`` as the entity's site, replacing the old one."""

    def read(self, key: str, path: str) -> bytes | None:
        """A file of the entity's site; ``None`` if there is none (or it is a folder)."""

    def metadata(self, key: str) -> dict[str, Any] | None:
        """The site's ``techdocs_metadata.json``; ``None`` when nothing is stored."""

    def list_sites(self) -> list[str]:
        """Every stored entity key."""

    def delete_site(self, key: str) -> None:
        """Remove the entity's site (nothing happens when there is none)."""


class LocalSiteStorage:
    """``<root>/<namespace>/<kind>/<name>/current`` -> the version being served."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def _entity_dir(self, key: str) -> Path:
        folder = (self.root / key).resolve()
        if folder.parent.parent.parent != self.root:
            raise NotAllowedError("site path leaves the storage folder", where=key)
        return folder

    def _current(self, key: str) -> Path | None:
        folder = self._entity_dir(key)
        link = folder / _CURRENT
        if not link.is_symlink():
            return None
        target = link.resolve()
        if target.parent != folder or not target.is_dir():
            return None
        return target

    def put_site(self, key: str, folder: Path) -> None:
        entity_dir = self._entity_dir(key)
        entity_dir.mkdir(parents=True, exist_ok=True)
        previous = self._current(key)
        version = uuid.uuid4().hex
        staging = entity_dir / f".staging-{version}"
        try:
            # Regular files only: a built site has no business linking anywhere.
            shutil.copytree(folder, staging, symlinks=True, ignore=_links)
            staging.rename(entity_dir / version)
            temp_link = entity_dir / f".link-{version}"
            temp_link.symlink_to(version, target_is_directory=True)
            os.replace(temp_link, entity_dir / _CURRENT)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        # The version served until now stays one more round: a reader that looked up the
        # link just before the swap can still finish reading it.
        keep = {version, _CURRENT, previous.name if previous else version}
        for old in entity_dir.iterdir():
            if old.name not in keep and not old.name.startswith(".staging-"):
                if old.is_symlink():
                    old.unlink(missing_ok=True)
                else:
                    shutil.rmtree(old, ignore_errors=True)

    def read(self, key: str, path: str) -> bytes | None:
        current = self._current(key)
        if current is None:
            return None
        inner = site_path(path)
        target = (current / inner).resolve() if inner else current
        if target != current and not target.is_relative_to(current):
            raise NotAllowedError(f"path {path!r} leaves the site", where="path")
        if not target.is_file():
            return None
        return target.read_bytes()

    def metadata(self, key: str) -> dict[str, Any] | None:
        data = self.read(key, METADATA_FILE)
        if data is None:
            return None
        loaded = jsonutil.loads(data)
        return loaded if isinstance(loaded, dict) else None

    def list_sites(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            link.parent.relative_to(self.root).as_posix()
            for link in self.root.glob(f"*/*/*/{_CURRENT}")
            if link.is_symlink()
        )

    def delete_site(self, key: str) -> None:
        entity_dir = self._entity_dir(key)
        if not entity_dir.exists():
            return
        doomed = entity_dir.with_name(f".deleting-{entity_dir.name}-{uuid.uuid4().hex}")
        entity_dir.rename(doomed)
        shutil.rmtree(doomed, ignore_errors=True)


def _links(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if os.path.islink(os.path.join(folder, n))}


def storage_for(platform: Platform, settings: DocsSettings) -> SiteStorage:
    """The storage ``plugins.techdocs.storage`` names: ``local`` or ``module:factory``."""
    if settings.storage == "local":
        return LocalSiteStorage(settings.resolved_storage_dir(platform.settings))
    module_name, _, attr = settings.storage.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
        storage = factory(platform)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(
            f"cannot load site storage {settings.storage!r}: {exc}",
            where="plugins.techdocs.storage",
        ) from exc
    if not isinstance(storage, SiteStorage):
        raise ConfigError(
            f"{settings.storage} did not return a SiteStorage", where="plugins.techdocs.storage"
        )
    return storage
