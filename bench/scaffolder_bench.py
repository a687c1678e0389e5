"""Scaffolder benchmark over real HTTP against a `goldpath serve` process.

Generates a template whose skeleton has 200 files (nested folders, 10 binary files copied
as they are) and measures, median of 7 runs each:

- (a) a task of fetch:template + two debug:log steps, from POST /v2/tasks until the
  completion event arrives on the task's event stream;
- (b) the same plus publish:git (into goldpath's hosted git) and catalog:register;
- time until a newly registered template answers its parameter schema, and until the entity
  registered by (b) is readable from the catalog;
- engine overhead per step: (a task of 41 debug:log steps - a task of 1) / 40.

    python bench/scaffolder_bench.py --engines sqlite postgresql
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from catalog_bench import free_port, fresh_database  # noqa: E402

RUNS = 7
FILES = 200
BINARY_FILES = 10


def make_skeleton(root: Path) -> None:
    """200 files in nested folders; 10 binary (PNG-like bytes with NULs)."""

    for index in range(FILES - BINARY_FILES):
        folder = root / f"pkg{index % 7}" / f"mod{index % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        name = "${{ values.name }}" if index % 25 == 0 else f"file{index}"
        (folder / f"{name}_{index}.py").write_text(
            f'"""Module {index} of ${{{{ values.name }}}}."""\n\n'
            f'OWNER = "${{{{ values.owner }}}}"\n'
            "{% if values.database %}DATABASE = True{% endif %}\n"
            + "".join(f"def f{j}() -> int:\n    return {j}\n\n" for j in range(20))
        )

    assets = root / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    for index in range(BINARY_FILES):
        payload = bytes([0x89, 0x50, 0x4E, 0x47, 0, 0, 0, index]) + os.urandom(4096)
        (assets / f"image{index}.png").write_bytes(payload)
    (root / "catalog-info.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Component",
                "metadata": {"name": "${{ values.name }}"},
                "spec": {
                    "type": "service",
                    "lifecycle": "experimental",
                    "owner": "${{ values.owner }}",
                },
            }
        )
    )


def template(name: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {"name": name, "title": name},
        "spec": {
            "owner": "team-platform",
            "type": "service",
            "parameters": [
                {
                    "title": "Service",
                    "required": ["name", "owner"],
                    "properties": {
                        "name": {"type": "string", "pattern": "^[a-z][a-z0-9-]*$"},
                        "owner": {"type": "string"},
                        "database": {"type": "boolean", "default": True},
                    },
                }
            ],
            "steps": steps,
            "output": {"links": [{"title": "Done", "url": "https://example.test"}]},
        },
    }


FETCH = {
    "id": "fetch",
    "name": "Fetch skeleton",
    "action": "fetch:template",
    "input": {
        "url": "./skeleton",
        "values": {
            "name": "${{ parameters.name }}",
            "owner": "${{ parameters.owner }}",
            "database": "${{ parameters.database }}",
        },
        "copyWithoutTemplating": ["assets/**"],
    },
}
LOGS = [
    {"id": f"log{i}", "name": f"Log {i}", "action": "debug:log", "input": {"message": "hi"}}
    for i in (1, 2)
]
PUBLISH = [
    {
        "id": "publish",
        "name": "Publish",
        "action": "publish:git",
        "input": {"repoUrl": "goldpath?owner=bench&repo=${{ parameters.name }}"},
    },
    {
        "id": "register",
        "name": "Register",
        "action": "catalog:register",
        "input": {
            "repoContentsUrl": "${{ steps.publish.output.repoContentsUrl }}",
            "catalogInfoPath": "/catalog-info.yaml",
        },
    },
]


def noop_steps(count: int) -> list[dict[str, Any]]:
    return [
        {"id": f"s{i}", "name": f"Step {i}", "action": "debug:log", "input": {"message": "x"}}
        for i in range(count)
    ]


def run_task(client: httpx.Client, ref: str, values: dict[str, Any]) -> float:
    """Seconds from POST /v2/tasks to the completion event on the live stream."""
    start = time.perf_counter()
    created = client.post("/api/scaffolder/v2/tasks", json={"templateRef": ref, "values": values})
    created.raise_for_status()
    task_id = created.json()["id"]
    completion: dict[str, Any] | None = None
    with client.stream("GET", f"/api/scaffolder/v2/tasks/{task_id}/eventstream") as response:
        for line in response.iter_lines():
            if line.startswith("data:") and '"completion"' in line:
                completion = json.loads(line[5:])
                break
    elapsed = time.perf_counter() - start
    if completion is None or "completed" not in completion["body"]["message"]:
        raise RuntimeError(f"task {task_id} did not complete: {completion}")
    return elapsed


def register(client: httpx.Client, path: Path) -> None:
    client.post(
        "/api/catalog/locations", json={"type": "file", "target": str(path)}
    ).raise_for_status()


def file_create_ms(folder: Path, count: int = 300) -> float:
    """This disk's cost of creating a small file right now: fetch:template creates 200, so
    on a shared machine whose disk slows down 10x at times this explains most variation."""
    probe = Path(tempfile.mkdtemp(prefix="probe-", dir=folder))
    start = time.perf_counter()
    for index in range(count):
        sub = probe / f"p{index % 7}" / f"m{index % 3}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{index}.py").write_text("x" * 1000)
    elapsed = (time.perf_counter() - start) / count * 1000
    shutil.rmtree(probe, ignore_errors=True)
    return round(elapsed, 3)


def run(engine: str, work_root: Path) -> dict[str, Any]:
    work_root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="scaffolder-", dir=work_root))
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
    templates = work / "templates"
    for name, steps in (
        ("bench-a", [FETCH, *LOGS]),
        ("bench-b", [FETCH, *LOGS, *PUBLISH]),
        ("bench-noop-1", noop_steps(1)),
        ("bench-noop-41", noop_steps(41)),
        ("bench-late", noop_steps(1)),
    ):
        folder = templates / name
        folder.mkdir(parents=True)
        (folder / "template.yaml").write_text(yaml.safe_dump(template(name, steps)))
        if name in ("bench-a", "bench-b"):
            make_skeleton(folder / "skeleton")
    server = subprocess.Popen(
        [sys.executable, "-m", "goldpath", "serve", "--port", str(port)], env=env
    )
    base = f"http://127.0.0.1:{port}"
    result: dict[str, Any] = {"engine": engine}
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            for _ in range(300):
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            for name in ("bench-a", "bench-b", "bench-noop-1", "bench-noop-41"):
                register(client, templates / name / "template.yaml")
            for name in ("bench-a", "bench-b", "bench-noop-1", "bench-noop-41"):
                schema = f"/api/scaffolder/v2/templates/default/template/{name}/parameter-schema"
                deadline = time.monotonic() + 60
                while client.get(schema).status_code != 200:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"template {name} never became usable")
                    time.sleep(0.02)
            values = {"owner": "team-platform", "name": "noop"}
            run_task(client, "template:default/bench-a", {**values, "name": "warmup"})

            a = [
                run_task(client, "template:default/bench-a", {**values, "name": f"a{i}"})
                for i in range(RUNS)
            ]
            b = [
                run_task(client, "template:default/bench-b", {**values, "name": f"b{i}"})
                for i in range(RUNS)
            ]
            # The entity registered by the last (b) run is readable as soon as it finished.
            start = time.perf_counter()
            client.get(
                f"/api/catalog/entities/by-name/component/default/b{RUNS - 1}"
            ).raise_for_status()
            entity_ms = (time.perf_counter() - start) * 1000

            start = time.perf_counter()
            register(client, templates / "bench-late" / "template.yaml")
            while (
                client.get(
                    "/api/scaffolder/v2/templates/default/template/bench-late/parameter-schema"
                ).status_code
                != 200
            ):
                time.sleep(0.01)
            template_ready_ms = (time.perf_counter() - start) * 1000

            one = [run_task(client, "template:default/bench-noop-1", values) for _ in range(RUNS)]
            many = [run_task(client, "template:default/bench-noop-41", values) for _ in range(RUNS)]
            per_step_ms = (statistics.median(many) - statistics.median(one)) / 40 * 1000

            result.update(
                {
                    "file_create_ms": file_create_ms(work),
                    "a_median_s": round(statistics.median(a), 3),
                    "b_median_s": round(statistics.median(b), 3),
                    "template_usable_ms": round(template_ready_ms, 1),
                    "entity_read_after_task_ms": round(entity_ms, 1),
                    "per_step_overhead_ms": round(per_step_ms, 2),
                }
            )
    finally:
        server.terminate()
        server.wait(30)
        drop()
        shutil.rmtree(work, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path(".bench-work"),
        help="where the data dir lives (a normal disk, like a user's ./.goldpath; on some "
        "machines /tmp is far slower at creating files)",
    )
    args = parser.parse_args()
    rows = [run(engine, args.work_dir.resolve()) for engine in args.engines]
    for row in rows:
        print(json.dumps(row), flush=True)
    print(
        "\n| engine | (a) 200 files median s | (b) + publish:git + register median s "
        "| template usable ms | per-step overhead ms | disk: ms per file created |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['engine']} | {r['a_median_s']} | {r['b_median_s']} "
            f"| {r['template_usable_ms']} | {r['per_step_overhead_ms']} | {r['file_create_ms']} |"
        )


if __name__ == "__main__":
    main()
