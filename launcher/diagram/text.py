"""The diagram as text other tools draw: Mermaid (pastes into Markdown) and Graphviz DOT.

Same analysis, same conventions as the SVG: the project is one cluster; project connections are
dashed, component connections solid; broken references red; unused ones grey and dotted; a shared
OAuth application is named on the edge. Identifiers are generated (n0, n1, ...); names only ever
appear in quoted labels, escaped for each language.
"""

from __future__ import annotations

from launcher.diagram.analysis import MISSING, NOT_VISIBLE, PROJECT_CARD, UNCHECKED, UNUSED, ProjectDiagram, Use
from launcher.model import PROJECT


def _ids(diagram: ProjectDiagram) -> dict[str, str]:
    keys = [c.key for c in diagram.components] + [t.key for t in diagram.targets if not t.internal]
    if any(u.source == PROJECT_CARD for u in diagram.uses):
        keys.append(PROJECT_CARD)
    return {key: f"n{index}" for index, key in enumerate(keys)}


def _edge_label(diagram: ProjectDiagram, use: Use) -> str:
    parts = [use.name]
    info = use.connection
    if info is not None:
        parts.append("project" if info.visibility == PROJECT else "component")
        if info.oauth_app:
            shared = any(a.app_id == info.oauth_app and a.shared for a in diagram.oauth_apps)
            parts.append(f"{'shared ' if shared else ''}OAuth {info.oauth_app}")
    flag = {MISSING: "MISSING in store", NOT_VISIBLE: "NOT VISIBLE", UNUSED: "unused", UNCHECKED: "usage unknown"}
    if use.status in flag:
        parts.append(flag[use.status])
    return f"{parts[0]} ({', '.join(parts[1:])})" if len(parts) > 1 else parts[0]


# ---------------------------------------------------------------- Mermaid


def _m(text: str) -> str:
    """Text inside a Mermaid quoted label: no quote, no markup, no line breaks."""
    replaced = text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return " ".join(replaced.split())


def render_mermaid(diagram: ProjectDiagram) -> str:
    ids = _ids(diagram)
    lines = ["flowchart LR"]
    lines.append(f'  subgraph project["Project {_m(diagram.project)}"]')
    lines.append("    direction TB")
    for node in diagram.components:
        note = {"store": ", store only", "referenced": ", not in repository"}.get(node.origin, "")
        lines.append(f'    {ids[node.key]}["{_m(node.name)} ({_m(node.type)}{note})"]')
    if PROJECT_CARD in ids:
        lines.append(f'    {ids[PROJECT_CARD]}["project connections nobody uses"]')
    lines.append("  end")
    shapes = {
        "database": ('[("', '")]'),
        "third-party": ('{{"', '"}}'),
        "storage": ('[/"', '"/]'),
        "service": ('(["', '"])'),
    }
    for target in diagram.targets:
        if target.internal:
            continue
        left, right = shapes.get(target.kind, ('["', '"]'))
        lines.append(f"  {ids[target.key]}{left}{_m(target.label)} ({_m(target.kind)}){right}")
    styles: list[str] = []
    for index, use in enumerate(diagram.uses):
        arrow = "-.->" if use.visibility == PROJECT or use.status in (UNUSED, UNCHECKED) else "-->"
        lines.append(f'  {ids[use.source]} {arrow}|"{_m(_edge_label(diagram, use))}"| {ids[use.target]}')
        if use.status in (MISSING, NOT_VISIBLE):
            styles.append(f"  linkStyle {index} stroke:#dc2626,stroke-width:2px")
        elif use.status in (UNUSED, UNCHECKED):
            styles.append(f"  linkStyle {index} stroke:#9ca3af")
        elif use.visibility == PROJECT:
            styles.append(f"  linkStyle {index} stroke:#4f46e5")
        else:
            styles.append(f"  linkStyle {index} stroke:#0f766e")
    lines += styles
    lines.append("  classDef problem stroke:#dc2626,stroke-width:2px")
    broken = [ids[c.key] for c in diagram.components if c.problems]
    if broken:
        lines.append(f"  class {','.join(broken)} problem")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- Graphviz DOT


def _d(text: str) -> str:
    """A DOT double-quoted string's content."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_dot(diagram: ProjectDiagram) -> str:
    ids = _ids(diagram)
    out = [
        "digraph choreo {",
        '  graph [rankdir=LR, fontname="Helvetica", fontsize=12, nodesep=0.3, ranksep=1.2, '
        f'label="{_d("Project " + diagram.project + " (" + diagram.environment + ")")}", labelloc=t];',
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", color="#94a3b8", '
        'fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=9, arrowsize=0.7];',
        "  subgraph cluster_project {",
        f'    label="{_d("Project " + diagram.project)}";',
        '    style="rounded,filled"; fillcolor="#f4f6fb"; color="#94a3b8";',
    ]
    for node in diagram.components:
        style = '"rounded,filled,dashed"' if node.origin != "repository" else '"rounded,filled"'
        colour = "#dc2626" if node.problems else "#94a3b8"
        fill = "#e8eefc" if node.type == "service" else "#ffffff"
        out.append(
            f'    {ids[node.key]} [label="{_d(node.name + chr(10) + node.type)}", style={style}, '
            f'color="{colour}", fillcolor="{fill}"];'
        )
    if PROJECT_CARD in ids:
        out.append(f'    {ids[PROJECT_CARD]} [label="project connections\\nnobody uses", style="rounded,dashed"];')
    out.append("  }")
    shapes = {"database": "cylinder", "third-party": "hexagon", "storage": "folder", "service": "box", "unknown": "box"}
    for target in diagram.targets:
        if target.internal:
            continue
        out.append(
            f'  {ids[target.key]} [label="{_d(target.label + chr(10) + target.kind)}", '
            f"shape={shapes.get(target.kind, 'box')}];"
        )
    for use in diagram.uses:
        if use.status in (MISSING, NOT_VISIBLE):
            attrs = 'color="#dc2626", fontcolor="#dc2626", style=bold'
        elif use.status in (UNUSED, UNCHECKED):
            attrs = 'color="#9ca3af", fontcolor="#6b7280", style=dotted'
        elif use.visibility == PROJECT:
            attrs = 'color="#4f46e5", style=dashed'
        else:
            attrs = 'color="#0f766e", style=solid'
        out.append(f'  {ids[use.source]} -> {ids[use.target]} [label="{_d(_edge_label(diagram, use))}", {attrs}];')
    out.append("}")
    return "\n".join(out) + "\n"
