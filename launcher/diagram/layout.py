"""Where everything goes: a layout that stays readable at 50 components and 200 connections.

Pure arithmetic, no layout engine. The project is one cell on the left. Each component is a card in
one column; its connections are rows of the card, so every connection can be read as text whatever
the number of edges. Edges leave their row: to another component of the project as an arc in the
gutter on the cell's left, to anything outside (services of other projects, third-party services,
databases, storage) as a curve to a column on the right, where targets are grouped by kind and, in
each group, placed level with the rows that point at them (the mean of their rows' heights), so
edges stay short and rarely cross. Cost is linear in components + connections + targets.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from launcher.diagram.analysis import (
    MISSING,
    NOT_VISIBLE,
    OK,
    PROJECT_CARD,
    TARGET_KINDS,
    ComponentNode,
    ProjectDiagram,
    TargetNode,
    Use,
)

MARGIN = 24
TITLE_H = 86  # the title and the legend
LEGEND_H = 30  # the legend alone (the HTML page has its own title)
CELL_TOP = 40  # the cell's own label
CARD_W = 400
HEADER_H = 48
ROW_H = 24
CARD_PAD = 8
CARD_GAP = 18
TARGET_W = 260
TARGET_H = 46
TARGET_GAP = 12
GROUP_HEADER = 24
GROUP_GAP = 22
EDGE_SPACE = 240
CHAR_W = 0.6  # of the font size: a safe average width of a sans-serif character

GROUP_LABELS = {
    "service": "Services outside the project",
    "third-party": "Third-party services",
    "database": "Databases",
    "storage": "Storage",
    "unknown": "Targets not named (no resourceRef)",
}
STATUS_ORDER = {OK: 0, NOT_VISIBLE: 1, MISSING: 2}


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def middle(self) -> float:
        return self.y + self.h / 2


@dataclass
class Row:
    edge: str  # the edge's id
    use: Use
    box: Box


@dataclass
class Card:
    key: str
    node: ComponentNode | None  # None: the project card (project connections nobody given uses)
    box: Box
    rows: list[Row] = field(default_factory=list)


@dataclass
class Placed:
    node: TargetNode
    box: Box


@dataclass
class Edge:
    id: str
    use: Use
    path: str
    internal: bool  # to another component of the project (an arc in the gutter)


@dataclass
class Group:
    kind: str
    label: str
    box: Box


@dataclass
class Layout:
    width: float
    height: float
    cell: Box
    cards: list[Card]
    targets: list[Placed]
    edges: list[Edge]
    groups: list[Group]
    heading: bool = True  # the SVG carries the title (standalone) or only the legend (in the page)


def fit(text: str, width: float, size: float = 12) -> str:
    """`text` cut with an ellipsis to about `width` pixels at font `size` (the full text goes in a tooltip)."""
    most = max(1, int(width / (size * CHAR_W)))
    return text if len(text) <= most else text[: most - 1] + "\u2026"


def text_width(text: str, size: float = 12) -> float:
    return len(text) * size * CHAR_W


def lay_out(diagram: ProjectDiagram, heading: bool = True) -> Layout:
    by_source: dict[str, list[Use]] = {}
    for use in diagram.uses:
        by_source.setdefault(use.source, []).append(use)
    internal = {t.key for t in diagram.targets if t.internal}
    n_internal = sum(1 for use in diagram.uses if use.target in internal)
    gutter = 36 + min(n_internal, 16) * 4

    cell_x, cell_y = MARGIN, MARGIN + (TITLE_H if heading else LEGEND_H)
    card_x = cell_x + gutter
    y = cell_y + CELL_TOP
    cards: list[Card] = []
    edge_ids: dict[int, str] = {}
    keys: list[tuple[str, ComponentNode | None]] = [(c.key, c) for c in diagram.components]
    if PROJECT_CARD in by_source:
        keys.append((PROJECT_CARD, None))
    for key, node in keys:
        uses = sorted(by_source.get(key, []), key=lambda u: (STATUS_ORDER.get(u.status, 3), u.name.lower()))
        height = HEADER_H + len(uses) * ROW_H + CARD_PAD
        card = Card(key, node, Box(card_x, y, CARD_W, height))
        for index, use in enumerate(uses):
            edge_id = f"e{len(edge_ids)}"
            edge_ids[id(use)] = edge_id
            card.rows.append(Row(edge_id, use, Box(card_x, y + HEADER_H + index * ROW_H, CARD_W, ROW_H)))
        cards.append(card)
        y += height + CARD_GAP
    cell = Box(cell_x, cell_y, gutter + CARD_W + 20, max(y - CARD_GAP + 20 - cell_y, 120))

    rows_to: dict[str, list[Row]] = {}
    for card in cards:
        for row in card.rows:
            rows_to.setdefault(row.use.target, []).append(row)
    placed, groups = _place_targets(diagram, rows_to, cell.right + EDGE_SPACE, cell_y)
    card_of = {card.key: card for card in cards}
    target_box = {p.node.key: p.box for p in placed}

    edges: list[Edge] = []
    for card in cards:
        for row in card.rows:
            if row.use.target in card_of:
                target_card = card_of[row.use.target].box
                edges.append(Edge(row.edge, row.use, _arc(row.box, target_card, gutter), True))
            elif row.use.target in target_box:
                port = _port(rows_to[row.use.target], row, target_box[row.use.target])
                edges.append(Edge(row.edge, row.use, _curve(row.box, target_box[row.use.target], port), False))
    bottom = max([cell.bottom] + [p.box.bottom for p in placed])
    width = cell.right + EDGE_SPACE + TARGET_W + MARGIN
    return Layout(max(width, 1040), bottom + MARGIN, cell, cards, placed, edges, groups, heading)


def _place_targets(
    diagram: ProjectDiagram, rows_to: dict[str, list[Row]], x: float, top: float
) -> tuple[list[Placed], list[Group]]:
    """Groups by kind, top to bottom; in a group each target as level with its rows as room allows."""
    placed: list[Placed] = []
    groups: list[Group] = []
    cursor = top
    for kind in TARGET_KINDS:
        members = [t for t in diagram.targets if t.kind == kind and not t.internal]
        if not members:
            continue

        def wanted(target: TargetNode, top: float = cursor) -> float:
            rows = rows_to.get(target.key, [])
            return sum(r.box.middle for r in rows) / len(rows) if rows else top

        members.sort(key=lambda t: (wanted(t), t.label.lower()))
        first_y = max(cursor + GROUP_HEADER, wanted(members[0]) - TARGET_H / 2)
        group_top = first_y - GROUP_HEADER
        next_y = first_y
        for target in members:
            height = TARGET_H + max(0, len(rows_to.get(target.key, [])) - 3) * 4  # room for many ports
            y = max(next_y, wanted(target) - height / 2)
            placed.append(Placed(target, Box(x, y, TARGET_W, height)))
            next_y = y + height + TARGET_GAP
        groups.append(
            Group(kind, GROUP_LABELS.get(kind, kind), Box(x - 10, group_top, TARGET_W + 20, next_y - group_top))
        )
        cursor = next_y + GROUP_GAP
    return placed, groups


def _port(rows: list[Row], row: Row, box: Box) -> float:
    """Edges into one target spread along its left side, in the order of their rows (no crossing there)."""
    ordered = sorted(rows, key=lambda r: r.box.middle)
    if len(ordered) == 1:
        return box.middle
    index = next(i for i, r in enumerate(ordered) if r is row)
    return box.y + 8 + (box.h - 16) * index / (len(ordered) - 1)


def _curve(row: Box, target: Box, port: float) -> str:
    sx, sy = row.right, row.middle
    tx, ty = target.x - 6, port
    bend = (tx - sx) * 0.5
    return f"M{sx:.1f},{sy:.1f} C{sx + bend:.1f},{sy:.1f} {tx - bend:.1f},{ty:.1f} {tx:.1f},{ty:.1f}"


def _arc(row: Box, target: Box, gutter: float) -> str:
    """From a row's left edge round the gutter to the target card's header; longer arcs swing wider."""
    sx, sy = row.x, row.middle
    tx, ty = target.x - 6, target.y + HEADER_H / 2
    reach = min(gutter - 10, 18 + abs(ty - sy) * 0.12)
    return f"M{sx:.1f},{sy:.1f} C{sx - reach:.1f},{sy:.1f} {tx - reach:.1f},{ty:.1f} {tx:.1f},{ty:.1f}"
