"""``goldpath docs ...`` as a user types it: against a running server, and the local preview."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from techdocs_helpers import service_folder, write

from server_process import run_cli, running_server


@pytest.mark.slow
def test_docs_commands_against_a_running_server(tmp_path: Path, database_url: str) -> None:
    folder = service_folder(tmp_path)
    config = tmp_path / "goldpath.yaml"
    config.write_text("plugins: {templates: {builtin: false}}\n")
    env = {"GOLDPATH_CATALOG_FILE_ROOTS": str(tmp_path), "GOLDPATH_CONFIG": str(config)}
    with running_server("serve", tmp_path / "data", database_url, env=env) as url:
        run_cli("catalog", "add", str(folder / "catalog-info.yaml"), url=url, check=True)

        built = run_cli("docs", "build", "component:default/ledger", "--follow", url=url)
        assert built.returncode == 0, built.stderr
        assert "Documentation built" in built.stdout  # the log, as it was written
        assert re.search(r"docs built: 2 pages in [\d.]+ s", built.stdout)

        status = run_cli("docs", "status", "ledger", url=url, check=True)
        assert "succeeded" in status.stdout and f"file:{folder}" in status.stdout
        assert "served: Ledger" in status.stdout
        as_json = json.loads(run_cli("docs", "status", "ledger", "--json", url=url).stdout)
        assert as_json["latest"]["status"] == "succeeded" and len(as_json["builds"]) >= 2
        listed = json.loads(run_cli("docs", "ls", "--json", url=url, check=True).stdout)
        assert [row["entityRef"] for row in listed] == ["component:default/ledger"]
        page = httpx.get(f"{url}/docs/default/component/ledger/guide/", timeout=10)
        assert page.status_code == 200 and "Every entry has two sides" in page.text

        write(folder / "mkdocs.yml", "site_name: Ledger\nplugins:\n  - no-such-plugin\n")
        failed = run_cli("docs", "build", "ledger", url=url)
        assert failed.returncode == 1
        assert 'docs build failed: mkdocs.yml: plugins: The "no-such-plugin" plugin is not' in (
            " ".join(failed.stderr.split())
        )
        assert "ERROR" in failed.stdout  # the log is printed
        assert run_cli("docs", "status", "ledger", url=url).returncode == 1
        # The last good site is still what is served.
        assert (
            "Every entry has two sides"
            in httpx.get(
                f"{url}/api/techdocs/static/docs/default/component/ledger/guide/", timeout=10
            ).text
        )

        missing = run_cli("docs", "build", "component:default/nobody", url=url)
        assert missing.returncode == 1 and "nobody" in missing.stderr


def test_docs_serve_previews_a_folder_and_rebuilds_on_change(tmp_path: Path) -> None:
    folder = service_folder(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "goldpath", "docs", "serve", str(folder), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        url = None
        seen = []
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line)
            found = re.search(r"Serving docs at (http://127\.0\.0\.1:\d+/)", line)
            url = found.group(1) if found else None
        assert url is not None, "".join(seen)
        index = httpx.get(url, timeout=10)
        assert index.status_code == 200 and "The ledger keeps the books" in index.text
        assert "Every entry has two sides" in httpx.get(f"{url}guide/", timeout=10).text

        write(folder / "docs" / "guide.md", "# Guide\n\nRewritten while serving.\n")
        while time.monotonic() < deadline:
            if "Rewritten while serving" in httpx.get(f"{url}guide/", timeout=10).text:
                break
            time.sleep(0.3)
        else:
            pytest.fail("the preview did not rebuild after a change")
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    assert process.returncode == 0
