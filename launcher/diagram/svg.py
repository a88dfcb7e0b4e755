"""The diagram as SVG: standalone (`--format svg`) or inline in the HTML page.

Everything shown is a name, an ID, a visibility, a type or a resourceRef: the analysis never held a
value. Every text is escaped; long names are cut with an ellipsis and shown whole in a tooltip.
"""

from __future__ import annotations

from html import escape

from launcher.diagram.analysis import (
    MISSING,
    NOT_VISIBLE,
    OK,
    REFERENCED,
    STORE_ONLY,
    UNCHECKED,
    UNUSED,
    ComponentNode,
    ProjectDiagram,
    TargetNode,
    Use,
    visibility_label,
)
from launcher.diagram.layout import CARD_W, HEADER_H, MARGIN, Card, Layout, Placed, fit, text_width
from launcher.model import PROJECT

ARROW = "\u2192 "
KIND_COLOURS = {
    "service": "#2563eb",
    "third-party": "#7c3aed",
    "database": "#b45309",
    "storage": "#0e7490",
    "unknown": "#6b7280",
    "component": "#2563eb",
}

STYLE = """
.dg text { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif; fill: #1f2937; }
.dg .title { font-size: 20px; font-weight: 700; }
.dg .subtitle { font-size: 12px; fill: #4b5563; }
.dg .legend text { font-size: 12px; fill: #374151; }
.dg .cell { fill: #f4f6fb; stroke: #94a3b8; stroke-width: 1.5; }
.dg .cell-label { font-size: 14px; font-weight: 700; fill: #334155; }
.dg .card-box { fill: #ffffff; stroke: #cbd5e1; stroke-width: 1.2; }
.dg .card.store .card-box, .dg .card.referenced .card-box { stroke-dasharray: 5 3; }
.dg .card.problem .card-box { stroke: #dc2626; stroke-width: 1.6; }
.dg .card-head { fill: #e8eefc; }
.dg .card.type-component .card-head { fill: #eef0f4; }
.dg .card.project-card .card-head { fill: #ede9fe; }
.dg .card-name { font-size: 14px; font-weight: 700; }
.dg .card-sub { font-size: 11px; fill: #4b5563; }
.dg .row text { font-size: 12px; }
.dg .row-bg { fill: transparent; }
.dg .row.flag-missing .row-bg, .dg .row.flag-not-visible .row-bg { fill: #fef2f2; }
.dg .row.flag-unused .row-bg, .dg .row.flag-unchecked .row-bg { fill: #f9fafb; }
.dg .row.flag-unused text.conn, .dg .row.flag-unchecked text.conn { fill: #6b7280; font-style: italic; }
.dg .row-line { stroke: #eef2f7; }
.dg .row text.to { font-size: 11px; fill: #64748b; }
.dg .pill text { font-size: 10px; font-weight: 700; fill: #ffffff; text-anchor: middle; }
.dg .pill-project { fill: #4f46e5; }
.dg .pill-component { fill: #0f766e; }
.dg .pill-missing { fill: #dc2626; }
.dg .badge text { font-size: 10px; font-weight: 600; text-anchor: middle; }
.dg .badge rect { stroke-width: 1; }
.dg .badge.oauth rect { fill: #fef3c7; stroke: #d97706; }
.dg .badge.oauth text { fill: #92400e; }
.dg .badge.bad rect { fill: #fee2e2; stroke: #dc2626; }
.dg .badge.bad text { fill: #991b1b; }
.dg .badge.muted rect { fill: #f3f4f6; stroke: #9ca3af; }
.dg .badge.muted text { fill: #4b5563; }
.dg .badge.warn rect { fill: #ffedd5; stroke: #ea580c; }
.dg .badge.warn text { fill: #9a3412; }
.dg .badge.type rect { fill: #dbeafe; stroke: #93c5fd; }
.dg .badge.type text { fill: #1e40af; }
.dg .badge.type-unknown rect { fill: #f3f4f6; stroke: #d1d5db; }
.dg .badge.type-unknown text { fill: #374151; }
.dg .edge { fill: none; stroke-width: 1.6; opacity: 0.75; }
.dg .edge.vis-project { stroke: #4f46e5; stroke-dasharray: 7 4; }
.dg .edge.vis-component { stroke: #0f766e; }
.dg .edge.flag-missing, .dg .edge.flag-not-visible { stroke: #dc2626; stroke-dasharray: 3 3; }
.dg .edge.flag-unused, .dg .edge.flag-unchecked { stroke: #9ca3af; stroke-dasharray: 2 4; }
.dg .group-box { fill: #fafafa; stroke: #e5e7eb; }
.dg .group-label { font-size: 12px; font-weight: 700; fill: #475569; }
.dg .target-box { fill: #ffffff; stroke-width: 1.5; }
.dg .target-name { font-size: 13px; font-weight: 600; }
.dg .target-sub { font-size: 10.5px; fill: #6b7280; }
.dg .dim { opacity: 0.12; }
.dg .hl .card-box, .dg .hl .target-box { stroke-width: 3; }
.dg .edge.hl { stroke-width: 3; opacity: 1; }
.dg [data-key], .dg .row { cursor: pointer; }
"""

MARKER_COLOURS = {
    "arrow-project": "#4f46e5",
    "arrow-component": "#0f766e",
    "arrow-bad": "#dc2626",
    "arrow-muted": "#9ca3af",
}
MARKERS = (
    "<defs>"
    + "".join(
        f'<marker id="{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">'
        f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
        for name, colour in MARKER_COLOURS.items()
    )
    + "</defs>"
)


def _a(value: object) -> str:
    return escape(str(value), quote=True)


def edge_class(use: Use) -> str:
    if use.status != OK:
        return f"flag-{use.status}"
    return "vis-project" if use.visibility == PROJECT else "vis-component"


def _marker(use: Use) -> str:
    if use.status in (MISSING, NOT_VISIBLE):
        return "arrow-bad"
    if use.status in (UNUSED, UNCHECKED):
        return "arrow-muted"
    return "arrow-project" if use.visibility == PROJECT else "arrow-component"


def oauth_shared(diagram: ProjectDiagram, use: Use) -> bool:
    app = use.connection.oauth_app if use.connection else None
    return any(a.app_id == app and a.shared for a in diagram.oauth_apps) if app else False


def edge_title(diagram: ProjectDiagram, use: Use) -> str:
    """The tooltip of an edge and of its row: everything known about the use, no values."""
    target = diagram.target(use.target) or diagram.component(use.target)
    target_text = target.label if target is not None and hasattr(target, "label") else use.target.split(":", 1)[-1]
    lines = [f"{use.name} -> {target_text}"]
    info = use.connection
    if info is not None:
        owner = f" of {info.owner}" if info.owner else ""
        lines.append(f"{visibility_label(info.visibility)}{owner}; type {info.type or 'unknown'}")
        lines.append(f"Connection ID {info.connection_id}")
        if info.resource_ref:
            lines.append(f"resourceRef {info.resource_ref}")
        if info.oauth_app:
            lines.append(f"OAuth application {info.oauth_app}{' (shared)' if oauth_shared(diagram, use) else ''}")
    if use.endpoint_visibility:
        lines.append(f"endpoint visibility {use.endpoint_visibility}")
    if use.note:
        lines.append(use.note)
    lines += [f"referenced at {path}" for path in use.references]
    return "\n".join(lines)


def render_svg(diagram: ProjectDiagram, layout: Layout, *, standalone: bool = True) -> str:
    out: list[str] = []
    head = '<?xml version="1.0" encoding="UTF-8"?>\n' if standalone else ""
    out.append(
        f'{head}<svg xmlns="http://www.w3.org/2000/svg" class="dg" id="diagram" '
        f'width="{layout.width:.0f}" height="{layout.height:.0f}" viewBox="0 0 {layout.width:.0f} {layout.height:.0f}" '
        f'role="img" aria-label="{_a("Architecture of project " + diagram.project)}">'
    )
    out.append(f"<title>{_a('Project ' + diagram.project + ': components and connections')}</title>")
    out.append(f"<style>{STYLE}</style>")
    out.append(MARKERS)
    out.append(f'<rect x="0" y="0" width="{layout.width:.0f}" height="{layout.height:.0f}" fill="#ffffff"/>')
    _title(out, diagram, layout)
    c = layout.cell
    out.append(f'<g class="project-cell"><rect class="cell" x="{c.x}" y="{c.y}" width="{c.w}" height="{c.h}" rx="16"/>')
    out.append(
        f'<text class="cell-label" x="{c.x + 16}" y="{c.y + 26}">'
        f"{_a(fit('Project ' + diagram.project, c.w - 30, 14))}</text></g>"
    )
    for group in layout.groups:
        b = group.box
        out.append(
            f'<g class="group" data-kind="{_a(group.kind)}"><rect class="group-box" x="{b.x}" y="{b.y:.1f}" '
            f'width="{b.w}" height="{b.h:.1f}" rx="10"/><text class="group-label" x="{b.x + 10}" y="{b.y + 16:.1f}">'
            f"{_a(group.label)}</text></g>"
        )
    out.append('<g class="edges">')
    for edge in layout.edges:
        use = edge.use
        conn = use.connection.connection_id if use.connection else ""
        out.append(
            f'<path class="edge {edge_class(use)}" id="{edge.id}" data-edge="{edge.id}" data-source="{_a(use.source)}" '
            f'data-target="{_a(use.target)}" data-connection="{_a(conn)}" data-name="{_a(use.name)}" '
            f'd="{edge.path}" marker-end="url(#{_marker(use)})"><title>{_a(edge_title(diagram, use))}</title></path>'
        )
    out.append("</g>")
    for card in layout.cards:
        _card(out, diagram, card)
    for placed in layout.targets:
        _target(out, placed, len([e for e in layout.edges if e.use.target == placed.node.key]))
    out.append("</svg>")
    return "\n".join(out)


def summary(diagram: ProjectDiagram) -> str:
    """One line of counts, the same in the SVG's title and the page's header."""
    unused = sum(1 for s in diagram.connections if not s.users)
    return (
        f"{len(diagram.components)} components \u00b7 {len(diagram.connections)} connections \u00b7 "
        f"{len(diagram.problems())} broken references \u00b7 {unused} unused or usage unknown \u00b7 "
        f"environment {diagram.environment} \u00b7 {diagram.source}"
    )


def _title(out: list[str], diagram: ProjectDiagram, layout: Layout) -> None:
    x, y = MARGIN, MARGIN
    if layout.heading:
        out.append(f'<text class="title" x="{x}" y="{y + 20}">{_a("Project " + diagram.project)}</text>')
        out.append(
            f'<text class="subtitle" x="{x}" y="{y + 40}">'
            f"{_a(fit(summary(diagram), layout.width - 2 * MARGIN, 12))}</text>"
        )
    else:
        y -= 56
    legend = [
        ("line", "vis-project", "project connection"),
        ("line", "vis-component", "component connection"),
        ("line", "flag-missing", "broken reference"),
        ("line", "flag-unused", "unused / usage unknown"),
        ("badge", "oauth", "shared OAuth app"),
    ]
    lx, ly = float(x), float(y + 64)
    out.append('<g class="legend">')
    for shape, cls, label in legend:
        if shape == "line":
            out.append(f'<path class="edge {cls}" d="M{lx},{ly} L{lx + 34},{ly}"/>')
            out.append(f'<text x="{lx + 42}" y="{ly + 4}">{_a(label)}</text>')
            lx += 42 + text_width(label, 11) + 22
        else:
            width = _badge(out, lx, ly - 8, "OAuth \u00b7 shared", cls)
            out.append(f'<text x="{lx + width + 8:.1f}" y="{ly + 4}">{_a(label)}</text>')
            lx += text_width(label) + 130
    out.append("</g>")


def badge_width(text: str) -> float:
    return len(text) * 6.4 + 12  # 10px semi-bold


def _badge(out: list[str], x: float, y: float, text: str, cls: str) -> float:
    """A small rounded label at (x, y) (its top-left); returns its width."""
    width = badge_width(text)
    out.append(
        f'<g class="badge {cls}"><rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="16" rx="8"/>'
        f'<text x="{x + width / 2:.1f}" y="{y + 11.5:.1f}">{_a(text)}</text></g>'
    )
    return width


def _card(out: list[str], diagram: ProjectDiagram, card: Card) -> None:
    b = card.box
    node = card.node
    classes = ["card"]
    if node is None:
        classes.append("project-card")
        name, sub, type_text = "Project connections", "used by no given component", ""
    else:
        classes.append(f"type-{node.type}")
        if node.origin == STORE_ONLY:
            classes.append("store")
        elif node.origin == REFERENCED:
            classes.append("referenced")
        if node.problems:
            classes.append("problem")
        name, type_text = node.name, node.type
        sub = _card_subtitle(node)
    key = card.key
    tooltip = _card_title(diagram, card)
    out.append(f'<g class="{" ".join(classes)}" data-key="{_a(key)}" data-kind="component">')
    out.append(f"<title>{_a(tooltip)}</title>")
    out.append(f'<rect class="card-box" x="{b.x}" y="{b.y}" width="{b.w}" height="{b.h}" rx="9"/>')
    out.append(
        f'<path class="card-head" d="M{b.x + 0.6},{b.y + 9} a9,9 0 0 1 9,-8.4 h{b.w - 19.2} a9,9 0 0 1 9,8.4 '
        f'v{HEADER_H - 9} h{-(b.w - 1.2)} z"/>'
    )
    badge_w = badge_width(type_text) if type_text else 0
    out.append(f'<text class="card-name" x="{b.x + 12}" y="{b.y + 20}">{_a(fit(name, b.w - badge_w - 36, 14))}</text>')
    out.append(f'<text class="card-sub" x="{b.x + 12}" y="{b.y + 38}">{_a(fit(sub, b.w - 24, 11))}</text>')
    if type_text:
        cls = "type" if type_text == "service" else "type type-unknown"
        _badge(out, b.right - badge_w - 10, b.y + 8, type_text, cls)
    for row in card.rows:
        _row(out, diagram, row.use, row.edge, row.box.x, row.box.y)
    out.append("</g>")


def _card_subtitle(node: ComponentNode) -> str:
    if node.problems:
        return node.problems[0]
    if node.origin == STORE_ONLY:
        return "in the store; no directory given"
    if node.origin == REFERENCED:
        return "in the project; not in the given directories"
    if node.endpoints:
        shown = []
        for endpoint in node.endpoints[:2]:
            parts = [endpoint.name, endpoint.type, f":{endpoint.port}" if endpoint.port else ""]
            vis = f" ({', '.join(endpoint.visibilities)})" if endpoint.visibilities else ""
            shown.append(" ".join(p for p in parts if p) + vis)
        more = f" +{len(node.endpoints) - 2}" if len(node.endpoints) > 2 else ""
        return "; ".join(shown) + more
    return node.directory or ""


def _card_title(diagram: ProjectDiagram, card: Card) -> str:
    node = card.node
    if node is None:
        return f"Project connections of {diagram.project} that no given component uses"
    lines = [f"{node.name}: {node.type}", f"type: {node.type_source}"]
    if node.directory:
        lines.append(f"directory {node.directory}")
    if node.manifest:
        lines.append(f"manifest {node.manifest}")
    lines += list(node.problems)
    return "\n".join(lines)


def _row(out: list[str], diagram: ProjectDiagram, use: Use, edge: str, x: float, y: float) -> None:
    classes = f"row flag-{use.status}" if use.status != OK else "row"
    conn = use.connection.connection_id if use.connection else ""
    out.append(
        f'<g class="{classes}" data-edge="{edge}" data-connection="{_a(conn)}" data-name="{_a(use.name)}">'
        f"<title>{_a(edge_title(diagram, use))}</title>"
    )
    out.append(f'<rect class="row-bg" x="{x + 1}" y="{y}" width="{CARD_W - 2}" height="24"/>')
    out.append(f'<line class="row-line" x1="{x + 8}" y1="{y}" x2="{x + CARD_W - 8}" y2="{y}"/>')
    if use.connection is None:
        pill, letter = "pill-missing", "?"
    elif use.visibility == PROJECT:
        pill, letter = "pill-project", "P"
    else:
        pill, letter = "pill-component", "C"
    out.append(
        f'<g class="pill"><circle class="{pill}" cx="{x + 20}" cy="{y + 12}" r="8"/>'
        f'<text x="{x + 20}" y="{y + 15.5}">{letter}</text></g>'
    )
    badges = _row_badges(diagram, use)
    right = x + CARD_W - 10
    for text, cls in reversed(badges):
        width = badge_width(text)
        right -= width
        _badge(out, right, y + 4, text, cls)
        right -= 4
    room = right - x - 40
    name = fit(use.name, min(room, max(room * 0.5, text_width(use.name) + 4)), 12)
    out.append(f'<text class="conn" x="{x + 34}" y="{y + 16}">{_a(name)}</text>')
    target = diagram.target(use.target) or diagram.component(use.target)
    label = target.label if isinstance(target, TargetNode) else target.name if target is not None else ""
    left = x + 34 + text_width(name) + 8
    if label and right - left > 40:
        shown = fit(ARROW + label, right - left - 6, 11)
        out.append(f'<text class="to" x="{left:.1f}" y="{y + 16}">{_a(shown)}</text>')
    out.append("</g>")


def _row_badges(diagram: ProjectDiagram, use: Use) -> list[tuple[str, str]]:
    badges: list[tuple[str, str]] = []
    info = use.connection
    if info is not None and info.oauth_app:
        badges.append(("OAuth \u00b7 shared" if oauth_shared(diagram, use) else "OAuth", "oauth"))
    if use.status == MISSING:
        badges.append(("missing in store", "bad"))
    elif use.status == NOT_VISIBLE:
        badges.append(("not visible", "bad"))
    elif use.status == UNUSED:
        badges.append(("unused", "muted"))
    elif use.status == UNCHECKED:
        badges.append(("usage unknown", "muted"))
    if info is not None and info.unset_keys:
        badges.append((f"no value in {diagram.environment}", "warn"))
    return badges[:2]


def _target(out: list[str], placed: Placed, incoming: int) -> None:
    node, b = placed.node, placed.box
    colour = KIND_COLOURS.get(node.kind, "#6b7280")
    out.append(f'<g class="target kind-{_a(node.kind)}" data-key="{_a(node.key)}" data-kind="target">')
    out.append(f"<title>{_a(node.label + chr(10) + node.kind + chr(10) + node.detail)}</title>")
    out.append(
        f'<rect class="target-box" x="{b.x}" y="{b.y:.1f}" width="{b.w}" height="{b.h:.1f}" rx="9" stroke="{colour}"/>'
    )
    cx, cy = b.x + 22, b.y + 23
    out.append(_icon(node.kind, cx, cy, colour))
    out.append(
        f'<text class="target-name" x="{b.x + 42}" y="{b.y + 20:.1f}">{_a(fit(node.label, b.w - 52, 13))}</text>'
    )
    sub = f"{node.kind} \u00b7 {incoming} use{'s' if incoming != 1 else ''}"
    if node.detail.startswith("no resourceRef"):
        sub += " \u00b7 no resourceRef"
    out.append(f'<text class="target-sub" x="{b.x + 42}" y="{b.y + 36:.1f}">{_a(fit(sub, b.w - 52, 10.5))}</text>')
    out.append("</g>")


def _icon(kind: str, cx: float, cy: float, colour: str) -> str:
    """A small glyph drawn with shapes (no icon font: the page must render offline everywhere)."""
    if kind == "database":
        return (
            f'<g fill="none" stroke="{colour}" stroke-width="1.6"><ellipse cx="{cx}" cy="{cy - 7}" rx="9" ry="3.5"/>'
            f'<path d="M{cx - 9},{cy - 7} v13 a9,3.5 0 0 0 18,0 v-13"/>'
            f'<path d="M{cx - 9},{cy - 1} a9,3.5 0 0 0 18,0"/></g>'
        )
    if kind == "third-party":
        return (
            f'<path d="M{cx},{cy - 10} L{cx + 9},{cy - 5} L{cx + 9},{cy + 5} L{cx},{cy + 10} L{cx - 9},{cy + 5} '
            f'L{cx - 9},{cy - 5} z" fill="none" stroke="{colour}" stroke-width="1.6"/>'
        )
    if kind == "storage":
        return (
            f'<g fill="none" stroke="{colour}" stroke-width="1.6">'
            f'<rect x="{cx - 9}" y="{cy - 8}" width="18" height="16" rx="2"/>'
            f'<path d="M{cx - 9},{cy - 2} h18"/></g>'
        )
    if kind == "unknown":
        return (
            f'<g><circle cx="{cx}" cy="{cy}" r="9" fill="none" stroke="{colour}" stroke-width="1.6"/>'
            f'<text x="{cx}" y="{cy + 4}" font-size="11" text-anchor="middle" fill="{colour}">?</text></g>'
        )
    return (
        f'<g fill="none" stroke="{colour}" stroke-width="1.6"><circle cx="{cx}" cy="{cy}" r="9"/>'
        f'<path d="M{cx - 9},{cy} h18 M{cx},{cy - 9} c-5,5 -5,13 0,18 M{cx},{cy - 9} c5,5 5,13 0,18"/></g>'
    )
