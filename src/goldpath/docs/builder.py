"""One MkDocs build in an isolated folder, as a subprocess with a time limit.

The build runs ``goldpath.docs.mkdocs_runner`` under this interpreter with ``-I`` (no
module from the docs source can shadow a real one), a clean environment (no secret of the
server's reaches ``!ENV`` in a mkdocs.yml), its own HOME and TMPDIR inside the build folder,
and in its own process group, so a build that runs out of time is stopped whole.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from goldpath.core import jsonutil
from goldpath.docs.model import METADATA_FILE, PAGES_DIR
from goldpath.docs.sources import CONFIG_NAMES

#: Seconds between two writes of a running build's log to its record.
LOG_FLUSH_SECONDS = 0.5
#: Seconds between two heartbeats of the task running the build.
HEARTBEAT_SECONDS = 5.0
NO_CONFIG = "no mkdocs.yml in the docs folder: add one (see docs/techdocs.md)"


@dataclass
class BuildOutcome:
    ok: bool
    error: str | None
    log: str
    warnings: int = 0
    pages: list[dict[str, Any]] = field(default_factory=list)
    site_name: str = ""
    site_description: str = ""


def clean_env(work: Path) -> dict[str, str]:
    """Only what MkDocs needs: no variable of the server's environment is passed on."""
    for folder in ("home", "tmp"):
        (work / folder).mkdir(parents=True, exist_ok=True)
    bin_dir = str(Path(sys.executable).parent)
    return {
        "PATH": os.pathsep.join([bin_dir, "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(work / "home"),
        "TMPDIR": str(work / "tmp"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        # Material's banner about its end of life, printed into every build log otherwise.
        "NO_MKDOCS_2_WARNING": "1",
    }


def find_config(source: Path) -> Path | None:
    return next((source / n for n in CONFIG_NAMES if (source / n).is_file()), None)


class Builder:
    def __init__(self, *, timeout: float, strict: bool) -> None:
        self.timeout = timeout
        self.strict = strict

    def run(
        self,
        source: Path,
        work: Path,
        *,
        log_prefix: list[str],
        on_log: Callable[[str], None] = lambda _text: None,
        heartbeat: Callable[[], None] = lambda: None,
    ) -> BuildOutcome:
        """Build ``source`` (holding mkdocs.yml) into ``work/site``."""
        lines = list(log_prefix)
        config = find_config(source)
        if config is None:
            return BuildOutcome(False, NO_CONFIG, "\n".join([*lines, f"ERROR   -  {NO_CONFIG}"]))
        site = work / "site"
        result_file = work / "result.json"
        command = [
            sys.executable,
            "-I",
            "-m",
            "goldpath.docs.mkdocs_runner",
            "--config",
            str(config),
            "--site-dir",
            str(site),
            "--result",
            str(result_file),
        ]
        if self.strict:
            command.append("--strict")
        lines.append(f"Running mkdocs build{' --strict' if self.strict else ''}")
        cleaned = _Cleaner(source, work)
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            cwd=source,
            env=clean_env(work),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            text=True,
            errors="replace",
        )
        reader = threading.Thread(
            target=_collect, args=(process, lines, cleaned), name="techdocs-build-log", daemon=True
        )
        reader.start()
        timed_out = False
        written = 0
        last_flush = last_beat = started
        try:
            while process.poll() is None:
                now = time.monotonic()
                if now - started > self.timeout:
                    timed_out = True
                    _kill(process)
                    break
                if now - last_flush >= LOG_FLUSH_SECONDS and len(lines) != written:
                    snapshot = list(lines)
                    written = len(snapshot)
                    on_log("\n".join(snapshot))
                    last_flush = now
                if now - last_beat >= HEARTBEAT_SECONDS:
                    last_beat = now
                    heartbeat()
                time.sleep(0.05)
        except BaseException:
            _kill(process)
            raise
        finally:
            process.wait()
            reader.join(5)
        seconds = time.monotonic() - started
        result = _read_result(result_file)
        if timed_out:
            error = (
                f"the build took longer than {self.timeout:g} s and was stopped "
                "(plugins.techdocs.build_timeout_seconds)"
            )
            lines.append(f"ERROR   -  {error}")
            return BuildOutcome(False, error, "\n".join(lines))
        if not result.get("ok"):
            error = cleaned(str(result.get("error") or ""))
            if not error:
                error = f"mkdocs exited with code {process.returncode}"
                lines.append(f"ERROR   -  {error}")
            return BuildOutcome(
                False, error, "\n".join(lines), warnings=int(result.get("warning_count", 0))
            )
        lines.append(f"Built in {seconds:.1f} s")
        return BuildOutcome(
            True,
            None,
            "\n".join(lines),
            warnings=int(result.get("warning_count", 0)),
            pages=read_pages(site),
            site_name=str(result.get("site_name") or ""),
            site_description=str(result.get("site_description") or ""),
        )


class _Cleaner:
    """Build-folder paths out of log lines: ``mkdocs.yml``, not ``/tmp/…/source/mkdocs.yml``."""

    def __init__(self, source: Path, work: Path) -> None:
        self.pairs = [(f"{source}{os.sep}", ""), (str(source), "."), (str(work), "<build>")]

    def __call__(self, text: str) -> str:
        for old, new in self.pairs:
            text = text.replace(old, new)
        return text


def _collect(process: subprocess.Popen[str], lines: list[str], cleaned: _Cleaner) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(cleaned(line.rstrip("\n")))


def _kill(process: subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def _read_result(path: Path) -> dict[str, Any]:
    try:
        loaded = jsonutil.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def read_pages(site: Path) -> list[dict[str, Any]]:
    """The per-page records the pages plugin wrote, by path."""
    folder = site / PAGES_DIR
    pages = []
    for path in sorted(folder.rglob("*.json")) if folder.is_dir() else []:
        try:
            pages.append(jsonutil.loads(path.read_bytes()))
        except ValueError:
            continue
    return pages


def write_metadata(site: Path, *, site_name: str, site_description: str, etag: str) -> None:
    """``techdocs_metadata.json`` as Backstage's generator leaves it."""
    files = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    if METADATA_FILE not in files:
        files = sorted([*files, METADATA_FILE])
    metadata = {
        "site_name": site_name,
        "site_description": site_description,
        "etag": etag,
        "build_timestamp": int(datetime.now(UTC).timestamp() * 1000),
        "files": files,
    }
    (site / METADATA_FILE).write_text(jsonutil.dumps(metadata), encoding="utf-8")
