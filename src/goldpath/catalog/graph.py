"""The entity page's dependency graph, laid out on the server as layered columns.

Every relation pair is drawn one way (``component ownedBy group``, never ``ownerOf``), from
left to right: what the entity belongs to or relies on sits to its right (its owner, system,
dependencies, APIs), what belongs to or relies on it to its left (its parts, dependents,
consumers, members). A second hop keeps going the same way: the owner's parent group
further right, a dependent's dependents further left. That keeps every drawn edge between
neighbouring columns, so a simple ordering by the parents' positions lays it out cleanly.

The whole graph costs one lookup: the bodies of the first ring (for titles, for refs that
point nowhere, and for the second hop).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from goldpath.catalog import links
from goldpath.catalog import model as m
from goldpath.catalog.query import EntityQueries

#: The direction each pair is drawn in: type -> (drawn type, True when drawn as written).
FORWARD = (
    m.RELATION_OWNED_BY,
    m.RELATION_PART_OF,
    m.RELATION_DEPENDS_ON,
    m.RELATION_PROVIDES_API,
    m.RELATION_CONSUMES_API,
    m.RELATION_MEMBER_OF,
    m.RELATION_CHILD_OF,
)
DRAWN: dict[str, tuple[str, bool]] = {t: (t, True) for t in FORWARD} | {
    m.REVERSE_RELATION[t]: (t, False) for t in FORWARD
}
#: Nodes shown per column; the rest are summed up in one "+N more" node.
MAX_COLUMN = 14
MAX_DEPTH = 2
NODE_W, NODE_H = 180, 44
GAP_X, GAP_Y = 130, 14
PAD = 12
LABEL_CHARS = 23
KIND_NAMES = {kind.lower(): kind for kind in m.BUILTIN_KINDS}


@dataclass
class Node:
    ref: str
    layer: int
    title: str
    kind: str
    href: str | None
    #: How it relates to the entity, for its tooltip (``dependsOn`` …).
    via: str = ""
    missing: bool = False
    more: int = 0
    x: float = 0
    y: float = 0

    @property
    def label(self) -> str:
        return links.truncate(self.title, LABEL_CHARS)

    @property
    def kind_label(self) -> str:
        return "" if self.more else self.kind or "entity"


@dataclass
class Edge:
    source: str
    type: str
    target: str
    path: str = ""
    label_x: float = 0
    label_y: float = 0

    @property
    def label_width(self) -> float:
        return len(self.type) * 6.4 + 8


@dataclass
class Graph:
    center: str
    depth: int
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    #: Every relation among shown entities, drawn or not, for the list beside the picture.
    listed: list[Edge] = field(default_factory=list)
    width: float = 0
    height: float = 0


def drawn(source: str, type_: str, target: str) -> tuple[str, str, str] | None:
    """The edge as drawn (``a ownerOf b`` -> ``b ownedBy a``); None for unknown types."""
    found = DRAWN.get(type_)
    if found is None:
        return None
    name, as_written = found
    return (source, name, target) if as_written else (target, name, source)


def _relations(entity: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The entity's relations as drawn edges, lower-cased refs."""
    source = links.ref_of(entity).lower()
    out = []
    for relation in entity.get("relations") or []:
        if not isinstance(relation, Mapping):
            continue
        target = relation.get("targetRef")
        if not isinstance(target, str):
            continue
        edge = drawn(source, str(relation.get("type")), target.lower())
        if edge is not None:
            out.append(edge)
    return out


def _ring(
    edges: Sequence[tuple[str, str, str]], around: str, forward: bool | None
) -> list[tuple[str, str, bool]]:
    """Neighbours of ``around``: ``(ref, drawn type, to the right)``; ``forward`` keeps one
    side only."""
    out = []
    for source, type_, target in edges:
        if source == around and forward is not False:
            out.append((target, type_, True))
        elif target == around and forward is not True:
            out.append((source, type_, False))
    return out


def _order_key(type_: str, ref: str) -> tuple[int, str, str]:
    kind, _, name = links.split_ref(ref)
    rank = FORWARD.index(type_) if type_ in FORWARD else len(FORWARD)
    return rank, kind, name.lower()


def build(
    entity: Mapping[str, Any], ring: Mapping[str, Mapping[str, Any] | None], depth: int
) -> Graph:
    """Place the nodes; ``ring``: the bodies of the first ring by ref (None: no such
    entity), as :func:`first_ring` names them."""
    center = links.ref_of(entity).lower()
    graph = Graph(center=center, depth=depth)
    nodes: dict[str, Node] = {
        center: Node(center, 0, links.display_name(entity), str(entity.get("kind", "")), None)
    }
    overflow: dict[int, set[str]] = {}
    filled: dict[int, int] = {}

    def place(ref: str, layer: int, type_: str, body: Mapping[str, Any] | None) -> None:
        if ref in nodes:
            return
        if filled.get(layer, 0) >= MAX_COLUMN:
            overflow.setdefault(layer, set()).add(ref)
            return
        filled[layer] = filled.get(layer, 0) + 1
        kind, _, name = links.split_ref(ref)
        title = links.display_name(body) if body else name
        real_kind = str(body.get("kind")) if body else KIND_NAMES.get(kind, kind)
        missing = layer in (-1, 1) and ref in ring and ring[ref] is None
        nodes[ref] = Node(ref, layer, title, real_kind, links.entity_href(ref), type_, missing)

    center_edges = _relations(entity)
    for ref, type_, right in _sorted_ring(entity):
        place(ref, 1 if right else -1, type_, ring.get(ref))
    known_edges = list(center_edges)
    for ref, body in ring.items():
        if body is not None and ref in nodes:
            known_edges += _relations(body)
    if depth >= 2:
        hop1 = [n for n in nodes.values() if n.layer in (-1, 1)]
        for node in hop1:
            body = ring.get(node.ref)
            if body is None:
                continue
            right = node.layer > 0
            candidates = _ring(_relations(body), node.ref, right)
            for ref, type_, _ in sorted(candidates, key=lambda r: _order_key(r[1], r[0])):
                place(ref, node.layer * 2, type_, None)
    seen: set[tuple[str, str, str]] = set()
    for source, type_, target in known_edges:
        if (source, type_, target) in seen or source not in nodes or target not in nodes:
            continue
        seen.add((source, type_, target))
        edge = Edge(source, type_, target)
        graph.listed.append(edge)
        if nodes[target].layer == nodes[source].layer + 1:
            graph.edges.append(edge)
    for layer, hidden in overflow.items():
        ref = f"more:{layer}"
        nodes[ref] = Node(ref, layer, f"+{len(hidden)} more", "", None, more=len(hidden))
    graph.nodes = list(nodes.values())
    _layout(graph)
    return graph


def _layout(graph: Graph) -> None:
    """Columns by layer; rows ordered by relation type, then (second hop) by the mean row
    of the neighbours they hang from, which keeps edges from crossing much."""
    by_layer: dict[int, list[Node]] = {}
    for node in graph.nodes:
        by_layer.setdefault(node.layer, []).append(node)
    row: dict[str, float] = {}
    neighbours: dict[str, list[str]] = {}
    for edge in graph.edges:
        neighbours.setdefault(edge.source, []).append(edge.target)
        neighbours.setdefault(edge.target, []).append(edge.source)
    for layer in sorted(by_layer, key=abs):
        column = by_layer[layer]
        if abs(layer) >= 2:

            def barycentre(node: Node) -> tuple[int, float, str]:
                rows = [row[n] for n in neighbours.get(node.ref, []) if n in row]
                return (node.more > 0, sum(rows) / len(rows) if rows else 0.0, node.ref)

            column.sort(key=barycentre)
        else:
            column.sort(key=lambda n: (n.more > 0, n.layer == 0, *_order_key(n.via, n.ref)))
        for index, node in enumerate(column):
            row[node.ref] = index - (len(column) - 1) / 2
    low, high = min(by_layer), max(by_layer)
    tallest = max(len(c) for c in by_layer.values())
    graph.height = tallest * NODE_H + (tallest - 1) * GAP_Y + 2 * PAD
    graph.width = (high - low + 1) * NODE_W + (high - low) * GAP_X + 2 * PAD
    middle = graph.height / 2
    for node in graph.nodes:
        node.x = PAD + (node.layer - low) * (NODE_W + GAP_X)
        node.y = middle + row[node.ref] * (NODE_H + GAP_Y) - NODE_H / 2
    placed = {n.ref: n for n in graph.nodes}
    for edge in graph.edges:
        a, b = placed[edge.source], placed[edge.target]
        x1, y1 = a.x + NODE_W, a.y + NODE_H / 2
        x2, y2 = b.x - 6, b.y + NODE_H / 2
        bend = (x2 - x1) / 2
        edge.path = (
            f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} "
            f"{x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
        )
        # Labels sit where edges fan out, away from the node they share: towards the far
        # column going right of the entity, towards the near one left of it.
        t = 0.72 if a.layer >= 0 else 0.28
        edge.label_x, edge.label_y = _bezier(t, (x1, x1 + bend, x2 - bend, x2), (y1, y1, y2, y2))


def _bezier(t: float, xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float]:
    weights = ((1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3)
    return (
        sum(w * x for w, x in zip(weights, xs, strict=True)),
        sum(w * y for w, y in zip(weights, ys, strict=True)),
    )


def _sorted_ring(entity: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    center = links.ref_of(entity).lower()
    ring = _ring(_relations(entity), center, None)
    return sorted(ring, key=lambda r: (not r[2], *_order_key(r[1], r[0])))


def first_ring(entity: Mapping[str, Any]) -> list[str]:
    """Refs of the neighbours :func:`build` shows (and so looks up): at most a column's
    worth per side, so the lookup stays small even for a group owning 5,000 entities."""
    wanted: dict[str, None] = {}
    per_side = {True: 0, False: 0}
    for ref, _, right in _sorted_ring(entity):
        if ref in wanted or per_side[right] >= MAX_COLUMN:
            continue
        per_side[right] += 1
        wanted[ref] = None
    return list(wanted)


def dependency_graph(queries: EntityQueries, entity: Mapping[str, Any], depth: int) -> Graph:
    """The graph around ``entity``, ``depth`` (1 or 2) hops out: one by-refs lookup."""
    wanted = first_ring(entity)
    found = queries.by_refs(wanted)["items"] if wanted else []
    return build(entity, dict(zip(wanted, found, strict=True)), max(1, min(MAX_DEPTH, depth)))
