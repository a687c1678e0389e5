"""Search benchmark: build, update and query the index over a generated catalog and docs.

Generates a realistic catalog (components with two-word names, descriptions, tags, owners,
lifecycles; APIs, resources, systems, groups, users; a few Templates) and TechDocs sites
(pages with several sections each) for a share of the components. On a fresh database:

- the entities are written to the catalog through its final-entity writer (the stitcher's
  write path, without processing: the catalog's own ingest is `catalog_bench.py`'s subject);
- **full build**: `SearchService.reindex()` (the reindex task's batch path: reads the catalog
  in pages, writes documents), then every site through `goldpath_docs_built` (the hook the
  TechDocs build calls);
- **incremental update**: a component's description changes in the catalog, then the
  `goldpath_catalog_changed` hook runs for it as the catalog calls it after a commit (the
  time measured); p50/p95 over 200 updates; the new word is then found and the old one not;
- **queries**: p50/p95 of a fixed mix (single words, two words, prefixes, names, filters,
  facets, empty term with filters, second pages) through the service, and through the HTTP
  API of a `goldpath serve` process on the same database (keep-alive client). The facet
  cache is off for these runs, so every facet is counted.

    python bench/search_bench.py --engines sqlite postgresql --entities 100000 --pages 20000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from catalog_bench import free_port, fresh_database  # noqa: E402
from goldpath.catalog.final import FinalEntity, write_final_entities  # noqa: E402
from goldpath.core.config import load_settings  # noqa: E402
from goldpath.core.platform import Platform  # noqa: E402
from goldpath.search.model import SearchQuery  # noqa: E402
from goldpath.search.service import get_search  # noqa: E402


def _words(text: str) -> list[str]:
    return text.split()


DOMAIN = _words(
    "payment checkout order cart invoice refund ledger billing pricing discount coupon tax "
    "shipping delivery warehouse inventory stock fulfilment parcel label carrier tracking "
    "customer account profile identity login session token password consent privacy "
    "search catalog product listing review rating recommendation ranking feed media image "
    "video upload storage archive backup report analytics metrics dashboard alerting audit "
    "notification email sms push message queue event stream topic scheduler batch pipeline "
    "ingest export import sync gateway proxy router cache index database replica cluster "
    "fraud risk compliance kyc partner seller marketplace subscription plan trial loyalty "
    "points wallet currency exchange settlement payout merchant terminal store location map "
    "geocoding routing dispatch driver fleet vehicle booking calendar availability slot"
)
TECH = _words(
    "service api worker consumer producer library frontend backend website cli sdk adapter "
    "connector engine manager controller handler processor client server portal"
)
FILLER = _words(
    "the a of to and in for with on is are this that by from as be it its or which when how "
    "use uses used can should must each every all new old also into over after before"
)
LIFECYCLES = ("production", "production", "production", "experimental", "deprecated")
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"] + ["an", "el", "or", "ix", "um"]
TAG_EXTRA = ("python", "java", "go", "typescript", "kotlin", "grpc", "rest", "kafka", "pci")


def zipf_words(rng: random.Random, words: list[str], n: int, s: float = 0.8) -> list[str]:
    # Rank-weighted choice: the first words are common, the tail rare, as in real text.
    weights = [1.0 / (i + 1) ** s for i in range(len(words))]
    return rng.choices(words, weights=weights, k=n)


def codenames(rng: random.Random, n: int) -> list[str]:
    """Project code names (``korvex``, ``talimo``): most words in a real catalog are names."""
    out: dict[str, None] = {}
    while len(out) < n:
        out["".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 3, 3))))] = None
    return list(out)


def sentence(
    rng: random.Random, n: int, topic: tuple[str, ...] = (), names: list[str] | None = None
) -> str:
    """Words as in real docs: mostly common English, then the page's topic, now and then
    any domain word or project name."""
    out = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.5:
            out.append(rng.choice(FILLER))
        elif roll < 0.75 and topic:
            out.append(rng.choice(topic))
        elif roll < 0.83 or not names:
            out.append(rng.choice(DOMAIN))
        else:
            out.append(rng.choice(names))
    return " ".join(out).capitalize() + "."


def generate(total: int, pages: int, seed: int = 11) -> dict[str, Any]:
    rng = random.Random(seed)
    names = codenames(rng, max(200, total // 50))
    groups = [f"team-{w}" for w in names[: max(5, total // 50)]]
    entities: list[dict[str, Any]] = []
    components: list[str] = []

    def add(kind: str, name: str, spec: dict[str, Any], **meta: Any) -> None:
        entities.append(
            {
                "apiVersion": "backstage.io/v1alpha1",
                "kind": kind,
                "metadata": {"name": name, "namespace": "default", **meta},
                "spec": spec,
            }
        )

    for g in groups:
        add("Group", g, {"type": "team", "children": []}, description=sentence(rng, 8, (), names))
    for i in range(total // 10):
        add("User", f"user-{i}", {"memberOf": [rng.choice(groups)]})
    for i in range(max(4, total // 100)):
        add("System", f"{rng.choice(names)}-system-{i}", {"owner": rng.choice(groups)})
    for i in range(total * 15 // 100):
        word, name = zipf_words(rng, DOMAIN, 1)[0], rng.choice(names)
        add(
            "API",
            f"{word}-{name}-api-{i}",
            {"type": "openapi", "lifecycle": rng.choice(LIFECYCLES), "owner": rng.choice(groups)},
            description=f"{word.title()} API of {name}. " + sentence(rng, 10, (word,), names),
            tags=[word, rng.choice(("rest", "grpc"))],
        )
    for i in range(total // 10):
        add(
            "Resource",
            f"{rng.choice(names)}-db-{i}",
            {"type": "database", "owner": rng.choice(groups)},
        )
    for i in range(50):
        add(
            "Template",
            f"{rng.choice(TECH)}-{rng.choice(DOMAIN)}-template-{i}",
            {"type": rng.choice(TECH), "owner": rng.choice(groups), "steps": []},
            title=f"{rng.choice(DOMAIN).title()} {rng.choice(TECH)} golden path",
            description=sentence(rng, 14, (), names),
        )
    while len(entities) < total:
        word, name = zipf_words(rng, DOMAIN, 1)[0], rng.choice(names)
        entity_name = f"{word}-{name}-{rng.choice(TECH)}-{len(components)}"
        components.append(entity_name)
        add(
            "Component",
            entity_name,
            {
                "type": rng.choice(("service", "service", "website", "library")),
                "lifecycle": rng.choice(LIFECYCLES),
                "owner": rng.choice(groups),
            },
            title=f"{word.title()} {name.title()}",
            description=sentence(rng, rng.randint(8, 24), (word, name), names),
            tags=list(dict.fromkeys([word, name, rng.choice(TAG_EXTRA)])),
        )
    sites: dict[str, list[dict[str, Any]]] = {}
    documented = components[: max(1, pages // 4)]
    for i in range(pages):
        owner = documented[i % len(documented)]
        topic = tuple(owner.split("-")[:2])
        page_no = i // len(documented)
        sections = [
            {
                "id": f"section-{s}",
                "title": f"{rng.choice(topic)} {rng.choice(DOMAIN)}".title(),
                "text": " ".join(sentence(rng, rng.randint(8, 16), topic, names) for _ in range(4)),
            }
            for s in range(rng.randint(3, 6))
        ]
        intro = sentence(rng, 20, topic, names)
        sites.setdefault(owner, []).append(
            {
                "path": "" if page_no == 0 else f"page-{page_no}/",
                "title": sentence(rng, 3, topic).rstrip("."),
                "text": intro + " " + " ".join(s["text"] for s in sections),
                "sections": sections,
            }
        )
    return {
        "entities": entities,
        "groups": groups,
        "components": components,
        "names": names,
        "sites": sites,
    }


def final(entity: dict[str, Any]) -> FinalEntity:
    uid = str(uuid.uuid4())
    meta = entity["metadata"]
    owner = entity["spec"].get("owner")
    body = {
        **entity,
        "metadata": {**meta, "uid": uid, "etag": uid[:8]},
        "relations": [{"type": "ownedBy", "targetRef": f"group:default/{owner}"}] if owner else [],
    }
    kind = entity["kind"]
    return FinalEntity(
        ref_key=f"{kind}:default/{meta['name']}".lower(),
        uid=uid,
        etag=uid[:8],
        kind=kind,
        namespace="default",
        name=meta["name"],
        entity=body,
    )


def query_mix(facts: dict[str, Any]) -> list[SearchQuery]:
    """Queries as people type them: mostly names and specific words, a few broad words."""
    team = facts["groups"][3]
    entity = facts["components"][len(facts["components"]) // 2]
    word, name = entity.split("-")[:2]
    rare, other = facts["names"][-1], facts["names"][len(facts["names"]) // 3]
    none: list[str] = []
    return [
        # broad: the most common domain words, a short prefix
        SearchQuery(term="payment", facets=none),
        SearchQuery(term="checkout", facets=none),
        SearchQuery(term="pay", facets=none),
        # specific words, two words, phrases
        SearchQuery(term="inventory", facets=none),
        SearchQuery(term="fraud", facets=none),
        SearchQuery(term="geocoding", facets=none),
        SearchQuery(term="refund ledger", facets=none),
        SearchQuery(term="warehouse stock", facets=none),
        SearchQuery(term='"order cart"', facets=none),
        # names and prefixes of names, as typed
        SearchQuery(term=rare, facets=none),
        SearchQuery(term=other[:4], facets=none),
        SearchQuery(term=other[:3], facets=none),
        SearchQuery(term=f"{word} {name}", facets=none),
        SearchQuery(term=f"{word} {name[:3]}", facets=none),
        SearchQuery(term=entity, facets=none),
        # filters
        SearchQuery(term="billing", filters={"kind": ["Component"]}, facets=none),
        SearchQuery(term=name, filters={"owner": [team]}, facets=none),
        SearchQuery(term="ledger", filters={"lifecycle": ["production"]}, facets=none),
        SearchQuery(term="customer", types=["techdocs"], facets=none),
        SearchQuery(term="golden path", types=["software-template"], facets=none),
        SearchQuery(term="stream", filters={"tags": ["kafka", "go"]}, facets=none),
        SearchQuery(term="", filters={"kind": ["API"]}, facets=none),
        SearchQuery(term="", filters={"owner": [team]}, facets=none),
        # with facets
        SearchQuery(term="payment"),
        SearchQuery(term="shipping label"),
        SearchQuery(term=other[:4]),
        SearchQuery(term="report", filters={"kind": ["Component"], "lifecycle": ["production"]}),
        SearchQuery(term="audit", types=["techdocs"]),
        SearchQuery(term="", filters={"owner": [team]}),
        SearchQuery(term="", types=["software-template"]),
        SearchQuery(term="", filters={"kind": ["Component"]}),
    ]


def query_params(q: SearchQuery) -> list[tuple[str, str]]:
    params = [("term", q.term)] + [("types[]", t) for t in q.types]
    for key, values in q.filters.items():
        params += [(f"filters[{key}][]", v) for v in values]
    params.append(("facets", "none" if q.facets == [] else "all"))
    if q.page_cursor:
        params.append(("pageCursor", q.page_cursor))
    return params


def pct(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    return (
        round(statistics.median(samples), 2),
        round(samples[max(0, int(len(samples) * 0.95) - 1)], 2),
    )


def run(engine: str, n_entities: int, n_pages: int, rounds: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="goldpath-search-bench-"))
    url, drop = fresh_database(engine, work)
    result: dict[str, Any] = {"engine": engine, "entities": n_entities, "pages": n_pages}
    settings = load_settings(
        overrides={"data_dir": str(work / "data"), "database_url": url}, environ={}
    )
    platform = Platform.create(settings)
    try:
        facts = generate(n_entities, n_pages)
        finals = [final(e) for e in facts["entities"]]
        for start in range(0, len(finals), 1000):
            with platform.db.session() as session:
                write_final_entities(session, finals[start : start + 1000])
        search = get_search(platform)
        search.queries.facets.cache_queries = False
        started = time.perf_counter()
        search.reindex()
        result["build_entities_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        sections = 0
        for name, site in facts["sites"].items():
            platform.plugins.hook.goldpath_docs_built(
                platform=platform, entity_ref=f"component:default/{name}", pages=site
            )
            sections += sum(len(p["sections"]) for p in site)
        result["build_docs_s"] = round(time.perf_counter() - started, 2)
        result["documents"] = sum(search.status()["documents"].values())
        result["sections"] = sections

        rng = random.Random(5)
        by_key = {f.ref_key: f for f in finals}
        updates = []
        for i in range(200):
            key = f"component:default/{rng.choice(facts['components'])}"
            item = by_key[key]
            item.entity["metadata"]["description"] = f"Now handles zebra{i} traffic"
            with platform.db.session() as session:
                write_final_entities(session, [item])
            start = time.perf_counter()
            platform.plugins.hook.goldpath_catalog_changed(
                platform=platform, written=[key], deleted=[]
            )
            updates.append((time.perf_counter() - start) * 1000)
        result["update_ms"] = pct(updates)
        last = search.query(SearchQuery(term="zebra199", facets=[]))
        old = search.query(SearchQuery(term="zebra0", facets=[]))
        assert last["numberOfResults"] >= 1, "the updated entity is not found"
        assert all(r["document"]["text"].endswith("zebra0 traffic") for r in old["results"])

        mix = query_mix(facts)
        page_two = search.query(SearchQuery(term="payment", facets=[]))["nextPageCursor"]
        mix.append(SearchQuery(term="payment", facets=[], page_cursor=page_two))
        samples: list[float] = []
        slowest: dict[str, float] = {}
        for q in mix:  # one pass unmeasured: connections, caches of the whole index
            search.query(q)
        for _ in range(rounds):
            for q in mix:
                start = time.perf_counter()
                search.query(q)
                ms = (time.perf_counter() - start) * 1000
                samples.append(ms)
                label = f"{q.term!r} {q.types} {q.filters} facets={q.facets != []}"
                slowest[label] = max(slowest.get(label, 0.0), ms)
        result["service_ms"] = pct(samples)
        result["slowest"] = sorted(slowest.items(), key=lambda kv: -kv[1])[:5]
        result["http_ms"] = http_timings(work, url, mix, rounds)
    finally:
        platform.close()
        drop()
        shutil.rmtree(work, ignore_errors=True)
    return result


def http_timings(work: Path, url: str, mix: list[SearchQuery], rounds: int) -> tuple[float, ...]:
    import subprocess

    config = work / "goldpath.yaml"
    config.write_text(
        "plugins:\n  templates: {builtin: false}\n  search: {facet_cache: false}\n",
        encoding="utf-8",
    )
    port = free_port()
    env = {
        **os.environ,
        "GOLDPATH_DATA_DIR": str(work / "data"),
        "GOLDPATH_DATABASE_URL": url,
        "GOLDPATH_CONFIG": str(config),
        "GOLDPATH_LOG_LEVEL": "warning",
        "GOLDPATH_CATALOG_REFRESH_INTERVAL_SECONDS": "86400",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "goldpath", "serve", "--port", str(port)], env=env
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            for _ in range(300):
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            # Measured once the server is idle (its start-up tasks done) and warmed up.
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                busy = client.get("/api/platform/tasks", params={"status": "running"}).json()
                queued = client.get("/api/platform/tasks", params={"status": "queued"}).json()
                if not busy and not queued:
                    break
                time.sleep(0.5)
            for q in mix:
                client.get("/api/search/query", params=query_params(q)).raise_for_status()
            samples = []
            for _ in range(rounds):
                for q in mix:
                    start = time.perf_counter()
                    client.get("/api/search/query", params=query_params(q)).raise_for_status()
                    samples.append((time.perf_counter() - start) * 1000)
            return pct(samples)
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=10, help="passes over the query mix")
    args = parser.parse_args()
    rows = []
    for engine in args.engines:
        row = run(engine, args.entities, args.pages, args.rounds)
        print(json.dumps(row), flush=True)
        rows.append(row)
    print(
        "\n| engine | entities | pages (sections) | documents | build: entities s | "
        "build: docs s | update p50/p95 ms | query p50/p95 ms (service) | "
        "query p50/p95 ms (HTTP) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['engine']} | {r['entities']:,} | {r['pages']:,} ({r['sections']:,}) | "
            f"{r['documents']:,} | {r['build_entities_s']} | {r['build_docs_s']} | "
            f"{r['update_ms'][0]} / {r['update_ms'][1]} | "
            f"{r['service_ms'][0]} / {r['service_ms'][1]} | "
            f"{r['http_ms'][0]} / {r['http_ms'][1]} |"
        )


if __name__ == "__main__":
    main()
