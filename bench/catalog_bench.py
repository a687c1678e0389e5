"""Catalog benchmark: ingest and query a generated, realistic catalog over real HTTP.

Generates groups, users, domains, systems, components (owner, system, dependsOn,
providesApis, consumesApis), APIs with inline OpenAPI definitions and resources, split into
files of 1,000 entities reached through a root Location. Starts `goldpath serve` as its own
process on a fresh database, registers the location and measures:

- ingest: from POST /locations to every entity stitched and queryable;
- p50/p95 of by-name, a filtered list (kind + owner), the first by-query page (50), facets;
- the server's peak RSS.

    python bench/catalog_bench.py --sizes 10000 100000 --engines sqlite postgresql
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import yaml

PG_URL = os.environ.get(
    "GOLDPATH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
WORDS = [
    "order",
    "cart",
    "price",
    "stock",
    "ship",
    "label",
    "route",
    "pay",
    "refund",
    "fraud",
    "search",
    "rank",
    "user",
    "auth",
    "token",
    "mail",
    "notify",
    "ledger",
    "tax",
    "promo",
    "review",
    "photo",
    "media",
    "feed",
    "report",
    "audit",
    "quota",
    "cache",
    "index",
]
LIFECYCLES = ("production", "production", "experimental", "deprecated")
OPENAPI = """openapi: 3.0.0
info: {{title: {name}, version: 1.0.0}}
paths:
  /{word}:
    get:
      summary: List {word}s
      responses: {{'200': {{description: ok}}}}
  /{word}/{{id}}:
    get:
      summary: Get one {word}
      parameters: [{{name: id, in: path, required: true, schema: {{type: string}}}}]
      responses: {{'200': {{description: ok}}, '404': {{description: not found}}}}
"""


def generate(total: int, out: Path, seed: int = 7) -> dict[str, Any]:
    """Write a catalog of about ``total`` entities; return facts the queries need."""
    rng = random.Random(seed)
    n_groups = max(5, total // 50)
    n_users = max(10, total // 10)
    n_domains = max(2, total // 2000)
    n_systems = max(4, total // 100)
    n_apis = total * 15 // 100
    n_resources = total // 10
    n_components = total - n_groups - n_users - n_domains - n_systems - n_apis - n_resources
    groups = [f"team-{i}" for i in range(n_groups)]
    systems = [f"system-{i}" for i in range(n_systems)]
    apis = [f"api-{i}" for i in range(n_apis)]
    resources = [f"db-{i}" for i in range(n_resources)]
    components = [f"svc-{i}" for i in range(n_components)]
    docs: list[dict[str, Any]] = []

    def e(kind: str, name: str, spec: dict[str, Any], **meta: Any) -> None:
        docs.append(
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": kind,
                "metadata": {"name": name, **meta},
                "spec": spec,
            }
        )

    for i, g in enumerate(groups):
        parent = {"parent": groups[(i - 1) // 5]} if i else {}
        e(
            "Group",
            g,
            {"type": "team", "children": [], **parent},
            description=f"The {rng.choice(WORDS)} team",
        )
    for i in range(n_users):
        e(
            "User",
            f"user-{i}",
            {"memberOf": [rng.choice(groups)], "profile": {"email": f"user-{i}@example.com"}},
        )
    for i in range(n_domains):
        e("Domain", f"domain-{i}", {"owner": rng.choice(groups)})
    for s in systems:
        e(
            "System",
            s,
            {"owner": rng.choice(groups), "domain": f"domain-{rng.randrange(n_domains)}"},
        )
    for a in apis:
        word = rng.choice(WORDS)
        e(
            "API",
            a,
            {
                "type": "openapi",
                "lifecycle": rng.choice(LIFECYCLES),
                "owner": rng.choice(groups),
                "system": rng.choice(systems),
                "definition": OPENAPI.format(name=a, word=word),
            },
            description=f"{word.title()} API",
            tags=[word],
        )
    for r in resources:
        e(
            "Resource",
            r,
            {"type": "database", "owner": rng.choice(groups), "system": rng.choice(systems)},
        )
    for c in components:
        word = rng.choice(WORDS)
        e(
            "Component",
            c,
            {
                "type": rng.choice(("service", "service", "website", "library")),
                "lifecycle": rng.choice(LIFECYCLES),
                "owner": rng.choice(groups),
                "system": rng.choice(systems),
                "dependsOn": [f"resource:{rng.choice(resources)}"]
                + [f"component:{rng.choice(components)}" for _ in range(rng.randrange(3))],
                "providesApis": [rng.choice(apis)] if rng.random() < 0.5 else [],
                "consumesApis": rng.sample(apis, k=min(len(apis), rng.randrange(4))),
            },
            description=f"Handles {word}s",
            tags=[word, "python"],
            annotations={"backstage.io/techdocs-ref": "dir:."},
        )

    rng.shuffle(docs)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for start in range(0, len(docs), 1000):
        name = f"part-{start // 1000:04d}.yaml"
        with (out / name).open("w", encoding="utf-8") as fh:
            yaml.safe_dump_all(docs[start : start + 1000], fh, sort_keys=False)
        files.append(f"./{name}")
    root = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Location",
        "metadata": {"name": "bench-root"},
        "spec": {"targets": files},
    }
    (out / "all.yaml").write_text(yaml.safe_dump(root), encoding="utf-8")
    # entities + the root Location + the generated Location of the registration
    return {"expected": len(docs) + 2, "groups": groups, "components": components}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fresh_database(engine: str, work: Path) -> tuple[str, Any]:
    if engine == "sqlite":
        return f"sqlite:///{work / 'bench.db'}", lambda: None
    name = f"goldpath_bench_{os.getpid()}_{int(time.time())}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()

    return PG_URL.rsplit("/", 1)[0] + "/" + name, drop


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed(client: httpx.Client, path: str, params: Any = None, n: int = 200) -> tuple[float, float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path, params=params)
        samples.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def run(size: int, engine: str, keep: bool = False) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"goldpath-bench-{size}-"))
    facts = generate(size, work / "catalog")
    url, drop = fresh_database(engine, work)
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
    base = f"http://127.0.0.1:{port}"
    result: dict[str, Any] = {"size": size, "engine": engine}
    try:
        with httpx.Client(base_url=base, timeout=600) as client:
            for _ in range(300):
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            start = time.perf_counter()
            created = client.post(
                "/api/catalog/locations",
                json={"type": "file", "target": str(work / "catalog" / "all.yaml")},
            )
            created.raise_for_status()
            # Poll the refresh task (cheap), not the entity count: counting 100k entities
            # 20 times a second would steal the ingest's CPU.
            task_id = created.json()["taskId"]
            while True:
                task = client.get(f"/api/platform/tasks/{task_id}").json()
                if task["status"] in ("succeeded", "failed", "cancelled"):
                    break
                if time.perf_counter() - start > 1800:
                    raise RuntimeError(f"ingest stalled: {task}")
                time.sleep(0.2)
            elapsed = time.perf_counter() - start
            page = client.get("/api/catalog/entities/by-query", params={"limit": 1}).json()
            if task["status"] != "succeeded" or page["totalItems"] != facts["expected"]:
                raise RuntimeError(f"ingest incomplete: {task['status']}, {page['totalItems']}")
            result["ingest_s"] = round(elapsed, 2)
            result["entities_per_s"] = round(facts["expected"] / result["ingest_s"])
            owner = facts["groups"][len(facts["groups"]) // 2]
            names = facts["components"]
            rng = random.Random(1)
            by_name = []
            for _ in range(300):
                s = time.perf_counter()
                client.get(
                    f"/api/catalog/entities/by-name/component/default/{rng.choice(names)}"
                ).raise_for_status()
                by_name.append((time.perf_counter() - s) * 1000)
            by_name.sort()
            result["by_name_ms"] = (
                round(statistics.median(by_name), 2),
                round(by_name[int(len(by_name) * 0.95) - 1], 2),
            )
            result["filtered_list_ms"] = tuple(
                round(x, 2)
                for x in timed(
                    client,
                    "/api/catalog/entities",
                    {"filter": f"kind=component,relations.ownedBy=group:default/{owner}"},
                )
            )
            result["first_page_ms"] = tuple(
                round(x, 2) for x in timed(client, "/api/catalog/entities/by-query", {"limit": 50})
            )
            result["facets_ms"] = tuple(
                round(x, 2)
                for x in timed(client, "/api/catalog/entity-facets", [("facet", "kind")])
            )
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
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000])
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--keep", action="store_true", help="keep generated files")
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        for engine in args.engines:
            row = run(size, engine, keep=args.keep)
            print(json.dumps(row), flush=True)
            rows.append(row)
    print(
        "\n| size | engine | ingest s | entities/s | by-name p50/p95 ms | filtered list p50/p95 ms "
        "| first page p50/p95 ms | facets p50/p95 ms | peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['size']:,} | {r['engine']} | {r['ingest_s']} | {r['entities_per_s']} | "
            f"{r['by_name_ms'][0]} / {r['by_name_ms'][1]} | "
            f"{r['filtered_list_ms'][0]} / {r['filtered_list_ms'][1]} | "
            f"{r['first_page_ms'][0]} / {r['first_page_ms'][1]} | "
            f"{r['facets_ms'][0]} / {r['facets_ms'][1]} | {r['peak_rss_mb']} |"
        )


if __name__ == "__main__":
    main()
