"""Portal benchmark: render time of the catalog list and entity pages over real HTTP.

Generates the catalog of ``catalog_bench`` (groups, users, systems, components with owners,
systems, dependencies and APIs, APIs with OpenAPI definitions, resources), starts
`goldpath serve` as its own process on a fresh database, ingests it and measures p50/p95
over ``--requests`` requests each (after a few warm-up requests, whose first is reported as
"cold") of:

- the list's first page, a small filtered page (kind + owner), a large filtered page
  (kind + lifecycle), a sorted page (owner, descending), a page deep in the list (followed
  through 20 "next" cursors), a text search, and the htmx fragment of a filter change;
- an entity page (a component with owner, system, dependencies and APIs) and its
  dependency graph tab (one and two hops).

    python bench/portal_bench.py --entities 100000 --engines sqlite postgresql
"""

from __future__ import annotations

import argparse
import html
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from catalog_bench import free_port, fresh_database, generate, peak_rss_mb, timed

#: Docs builds are not what this measures: without the annotation none is queued.
TECHDOCS = "backstage.io/techdocs-ref: dir:."
NEXT = re.compile(r'<a href="([^"]+)"[^>]*rel="next"')
HX = {"HX-Request": "true", "HX-Target": "catalog-results"}
COLUMNS = (
    ("first_page", "first page"),
    ("filtered_small", "kind+owner"),
    ("filtered_large", "kind+lifecycle"),
    ("sorted", "sorted by owner"),
    ("deep", "page 21 (cursor)"),
    ("search", "text search"),
    ("fragment", "htmx fragment"),
    ("entity", "entity page"),
    ("graph", "graph, 1 hop"),
    ("graph2", "graph, 2 hops"),
)


def strip_docs(folder: Path) -> None:
    for part in folder.glob("part-*.yaml"):
        text = part.read_text(encoding="utf-8")
        part.write_text(text.replace(TECHDOCS, "goldpath.dev/bench: portal"), encoding="utf-8")


def start_server(work: Path, url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "GOLDPATH_DATA_DIR": str(work / "data"),
        "GOLDPATH_DATABASE_URL": url,
        "GOLDPATH_CATALOG_FILE_ROOTS": str(work),
        "GOLDPATH_LOG_LEVEL": "warning",
        "GOLDPATH_CATALOG_REFRESH_INTERVAL_SECONDS": "86400",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "goldpath", "serve", "--port", str(port)], env=env
    )
    return server, f"http://127.0.0.1:{port}"


def ingest(client: httpx.Client, catalog: Path, expected: int) -> float:
    for _ in range(300):
        try:
            if client.get("/readyz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    start = time.perf_counter()
    created = client.post(
        "/api/catalog/locations", json={"type": "file", "target": str(catalog / "all.yaml")}
    )
    created.raise_for_status()
    task_id = created.json()["taskId"]
    while True:
        task = client.get(f"/api/platform/tasks/{task_id}").json()
        if task["status"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.2)
    elapsed = time.perf_counter() - start
    total = client.get("/api/catalog/entities/by-query", params={"limit": 1}).json()
    # At least: the server registers its built-in golden-path templates too.
    if task["status"] != "succeeded" or total["totalItems"] < expected:
        raise RuntimeError(f"ingest incomplete: {task['status']}, {total['totalItems']}")
    return elapsed


def deep_url(client: httpx.Client, hops: int = 20) -> str:
    url = "/catalog"
    for _ in range(hops):
        found = NEXT.search(client.get(url).text)
        if not found:
            break
        url = html.unescape(found.group(1))
    return url


def measure(
    client: httpx.Client, path: str, n: int, headers: dict[str, str] | None = None
) -> tuple[float, float, float]:
    """(cold ms, p50 ms, p95 ms); ``cold``: the first request ever for this URL."""
    start = time.perf_counter()
    first = client.get(path, headers=headers)
    cold = (time.perf_counter() - start) * 1000
    first.raise_for_status()
    for _ in range(4):
        client.get(path, headers=headers).raise_for_status()
    if headers:
        client.headers.update(headers)
    try:
        p50, p95 = timed(client, path, n=n)
    finally:
        for key in headers or {}:
            client.headers.pop(key, None)
    return round(cold, 1), round(p50, 2), round(p95, 2)


def run(size: int, engine: str, requests: int, keep: bool = False) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"goldpath-portal-bench-{size}-"))
    facts = generate(size, work / "catalog")
    strip_docs(work / "catalog")
    url, drop = fresh_database(engine, work)
    server, base = start_server(work, url)
    result: dict[str, Any] = {"entities": size, "engine": engine}
    try:
        with httpx.Client(base_url=base, timeout=600) as client:
            result["ingest_s"] = round(ingest(client, work / "catalog", facts["expected"]), 1)
            rng = random.Random(3)
            owner = facts["groups"][len(facts["groups"]) // 2]
            # A component with dependencies and APIs, so its page and graph have relations.
            component = next(
                name
                for name in rng.sample(facts["components"], k=len(facts["components"]))
                if len(
                    client.get(f"/api/catalog/entities/by-name/component/default/{name}").json()[
                        "relations"
                    ]
                )
                >= 6
            )
            entity = f"/catalog/default/component/{component}"
            paths = {
                "first_page": "/catalog",
                "filtered_small": f"/catalog?kind=component&owner=group:default/{owner}",
                "filtered_large": "/catalog?kind=component&lifecycle=production",
                "sorted": "/catalog?sort=owner,desc",
                "deep": deep_url(client),
                "search": "/catalog?q=ledger",
                "fragment": "/catalog?kind=api&lifecycle=experimental",
                "entity": entity,
                "graph": f"{entity}?tab=dependencies",
                "graph2": f"{entity}?tab=dependencies&depth=2",
            }
            for key, path in paths.items():
                result[key] = measure(client, path, requests, HX if key == "fragment" else None)
            result["page_kb"] = round(len(client.get("/catalog").content) / 1024, 1)
            result["peak_rss_mb"] = round(peak_rss_mb(server.pid))
    finally:
        server.terminate()
        server.wait(30)
        drop()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entities", type=int, nargs="+", default=[2000])
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--keep", action="store_true", help="keep generated files")
    args = parser.parse_args()
    rows = []
    for size in args.entities:
        for engine in args.engines:
            row = run(size, engine, args.requests, keep=args.keep)
            print(json.dumps(row), flush=True)
            rows.append(row)
    print("\np50 / p95 ms (cold: the first request of each page)\n")
    print("| entities | engine | " + " | ".join(label for _, label in COLUMNS) + " |")
    print("|---|---|" + "---|" * len(COLUMNS))
    for r in rows:
        cells = [f"{r[k][1]} / {r[k][2]}" for k, _ in COLUMNS]
        print(f"| {r['entities']:,} | {r['engine']} | " + " | ".join(cells) + " |")
    print("\n| entities | engine | " + " | ".join(label for _, label in COLUMNS) + " |")
    print("|---|---|" + "---|" * len(COLUMNS))
    for r in rows:
        cells = [f"{r[k][0]}" for k, _ in COLUMNS]
        print(f"| {r['entities']:,} | {r['engine']} cold | " + " | ".join(cells) + " |")
    for r in rows:
        print(
            f"{r['entities']:,} {r['engine']}: ingest {r['ingest_s']} s, list page "
            f"{r['page_kb']} KB, peak RSS {r['peak_rss_mb']} MB"
        )


if __name__ == "__main__":
    main()
