"""``goldpath docs serve``: build a local folder as TechDocs builds it, rebuild when it changes."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from goldpath.docs.builder import Builder, find_config
from goldpath.docs.sources import _hash_folder

PREVIEW_TIMEOUT_SECONDS = 600.0


class Preview:
    def __init__(self, source: Path, *, strict: bool = False) -> None:
        self.source = source
        self.config = find_config(source)
        self.builder = Builder(timeout=PREVIEW_TIMEOUT_SECONDS, strict=strict)
        self.work_root: Path | None = None
        self._site: Path | None = None
        self._stamp = ""
        self._count = 0

    @property
    def site(self) -> Path:
        """The folder being served: the newest good build."""
        if self._site is None:
            assert self.work_root is not None
            empty = self.work_root / "empty"
            empty.mkdir(parents=True, exist_ok=True)
            (empty / "index.html").write_text(
                "<!doctype html><title>No build</title><p>The docs did not build; see the "
                "terminal running <code>goldpath docs serve</code>.</p>",
                encoding="utf-8",
            )
            return empty
        return self._site

    def stamp(self) -> str:
        digest = hashlib.blake2b(digest_size=20)
        _hash_folder(digest, self.source)
        return digest.hexdigest()

    def changed(self) -> bool:
        return self.stamp() != self._stamp

    def rebuild(self, say: Callable[..., Any]) -> bool:
        assert self.work_root is not None
        self._stamp = self.stamp()
        self._count += 1
        work = self.work_root / f"build-{self._count}"
        outcome = self.builder.run(self.source, work, log_prefix=[f"Building {self.source}"])
        for line in outcome.log.splitlines():
            say(line, highlight=False, markup=False)
        if not outcome.ok:
            say(f"[red]error:[/red] {outcome.error}", highlight=False)
            return False
        previous = self._site
        self._site = work / "site"
        if previous is not None:
            shutil.rmtree(previous.parent, ignore_errors=True)
        return True
