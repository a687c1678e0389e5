"""Run a real `goldpath` server process for tests: free port, bounded waits, clean stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(
    command: str,
    data_dir: Path,
    database_url: str,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> Iterator[str]:
    port = free_port()
    full_env = {
        **os.environ,
        "GOLDPATH_DATA_DIR": str(data_dir),
        "GOLDPATH_DATABASE_URL": database_url,
        "GOLDPATH_LOG_LEVEL": "warning",
        **(env or {}),
    }
    log = (data_dir.parent / f"server-{port}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "goldpath", command, "--port", str(port)],
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {Path(log.name).read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become ready in time")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


def run_cli(
    *args: str, url: str, check: bool = False, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "goldpath", *args],
        env={**os.environ, "GOLDPATH_URL": url, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"goldpath {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result
