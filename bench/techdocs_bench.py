"""TechDocs build times: one isolated MkDocs build (as the ``docs.build`` task runs it) of
generated sites of fixed sizes, with the default theme and with techdocs-core (Material).

    .venv/bin/python bench/techdocs_bench.py [--pages 10 100 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from goldpath.docs.builder import Builder

PARAGRAPH = (
    "The service keeps every order it accepts and answers within two seconds. "
    "Each step is recorded before it runs, so a crash resumes where it stopped.\n\n"
)


def make_site(root: Path, pages: int, *, techdocs_core: bool) -> Path:
    docs = root / "docs"
    docs.mkdir(parents=True)
    nav = []
    for n in range(pages):
        name = "index.md" if n == 0 else f"section-{n % 10}/page-{n}.md"
        path = docs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "".join(
            f"## Part {k}\n\n{PARAGRAPH}```python\nprint({k})\n```\n\n" for k in range(4)
        )
        path.write_text(f"# Page {n}\n\n{PARAGRAPH}{body}")
        nav.append(f"  - 'Page {n}': {name}")
    plugins = "plugins:\n  - techdocs-core\n" if techdocs_core else ""
    (root / "mkdocs.yml").write_text(f"site_name: Bench\n{plugins}nav:\n" + "\n".join(nav) + "\n")
    return root


def build_seconds(pages: int, *, techdocs_core: bool, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="goldpath-techdocs-bench-") as tmp:
            source = make_site(Path(tmp) / "source", pages, techdocs_core=techdocs_core)
            started = time.perf_counter()
            outcome = Builder(timeout=600, strict=False).run(
                source, Path(tmp) / "work", log_prefix=[]
            )
            times.append(time.perf_counter() - started)
            assert outcome.ok, outcome.log
            assert len(outcome.pages) == pages
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print("| pages | theme | median s | min s | max s |")
    print("|---|---|---|---|---|")
    for pages in args.pages:
        for techdocs_core in (False, True):
            times = build_seconds(pages, techdocs_core=techdocs_core, runs=args.runs)
            theme = "techdocs-core (Material)" if techdocs_core else "mkdocs"
            print(
                f"| {pages} | {theme} | {statistics.median(times):.2f} | {min(times):.2f} "
                f"| {max(times):.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
