"""The diagram as one self-contained HTML page (`--format html`, the default).

Opens offline: the SVG, the CSS and the script are inline, nothing is fetched (a Content-Security-
Policy forbids it: `default-src 'none'`). No values: the page is built from the analysis, which never
held one. The script adds highlighting (hover or click a component, a connection or a target), a
filter, zoom and a details panel; everything it shows is also in the tables under the diagram, so the
page reads without it. When the script has run without error it sets `data-diagram="ready"` on
<html> (tests read it); an error sets `data-diagram="error"` and shows the message.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from launcher.diagram.analysis import MISSING, NOT_VISIBLE, UNCHECKED, UNUSED, ProjectDiagram, visibility_label
from launcher.diagram.layout import Layout
from launcher.diagram.svg import oauth_shared, render_svg, summary

SHARED_MARK = " \u00b7 shared"
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

PAGE_STYLE = """
* { box-sizing: border-box; }
body {
  margin: 0;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Arial, sans-serif;
  color: #1f2937;
  background: #f8fafc;
}
header {
  display: flex;
  flex-wrap: nowrap;
  align-items: center;
  gap: 12px 24px;
  padding: 12px 20px;
  background: #ffffff;
  border-bottom: 1px solid #e2e8f0;
  position: sticky;
  top: 0;
  z-index: 2;
}
header h1 { font-size: 18px; margin: 0; }
header .meta { color: #64748b; font-size: 13px; }
header .heading { min-width: 0; flex: 1; }
header .meta { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.controls { margin-left: auto; display: flex; gap: 6px; align-items: center; }
.controls input { width: 220px; padding: 5px 9px; border: 1px solid #cbd5e1; border-radius: 6px; font: inherit; }
.controls button {
  padding: 5px 10px;
  border: 1px solid #cbd5e1;
  background: #fff;
  border-radius: 6px;
  cursor: pointer;
  font: inherit;
}
main { display: flex; gap: 0; align-items: flex-start; }
#canvas { flex: 1; overflow: auto; padding: 12px; max-height: calc(100vh - 64px); }
#canvas svg {
  display: block;
  background: #fff;
  border: 1px solid #e2e8f0;
  border-radius: 10px;
  transform-origin: 0 0;
}
#details {
  width: 320px;
  flex: none;
  padding: 14px 16px;
  border-left: 1px solid #e2e8f0;
  background: #fff;
  min-height: 200px;
  font-size: 13px;
  position: sticky;
  top: 64px;
  max-height: calc(100vh - 64px);
  overflow: auto;
}
#details h2 { font-size: 15px; margin: 0 0 6px; }
#details dl {
  margin: 0;
  } #details dt { color: #64748b;
  margin-top: 6px;
  } #details dd { margin: 0;
  word-break: break-all;
}
section { padding: 8px 20px 4px; }
section h2 { font-size: 16px; margin: 14px 0 8px; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 13px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
th { background: #f1f5f9; font-weight: 600; }
td code { font-size: 12px; }
.flag {
  display: inline-block;
  padding: 0 7px;
  border-radius: 9px;
  font-size: 11px;
  font-weight: 600;
  margin: 1px 2px 1px 0;
}
.flag.bad { background: #fee2e2; color: #991b1b; } .flag.muted { background: #f3f4f6; color: #4b5563; }
.flag.warn { background: #ffedd5; color: #9a3412; } .flag.oauth { background: #fef3c7; color: #92400e; }
.flag.ok { background: #dcfce7; color: #166534; }
#problems li { margin: 2px 0; }
footer { padding: 16px 20px 28px; color: #64748b; font-size: 12px; }
#diagram-status { position: fixed; right: 8px; bottom: 6px; font-size: 11px; color: #94a3b8; }
#diagram-status.error { color: #dc2626; font-weight: 700; }
tr.hidden { display: none; }
"""

SCRIPT = r"""
(function () {
  var status = document.getElementById('diagram-status');
  function fail(message) {
    document.documentElement.setAttribute('data-diagram', 'error');
    status.textContent = 'script error: ' + message;
    status.className = 'error';
  }
  window.addEventListener('error', function (event) { fail(event.message); });
  try {
    var data = JSON.parse(document.getElementById('diagram-data').textContent);
    var svg = document.getElementById('diagram');
    var details = document.getElementById('details');
    var edges = Array.prototype.slice.call(svg.querySelectorAll('path.edge[data-edge]'));
    var nodes = Array.prototype.slice.call(svg.querySelectorAll('[data-key]'));
    var rows = Array.prototype.slice.call(svg.querySelectorAll('g.row'));
    var pinned = null;

    function el(tag, text, cls) {
      var e = document.createElement(tag);
      if (text !== undefined) e.textContent = text;
      if (cls) e.className = cls;
      return e;
    }
    function clear() {
      svg.querySelectorAll('.dim, .hl').forEach(function (e) { e.classList.remove('dim'); e.classList.remove('hl'); });
    }
    function highlight(edgeIds, nodeKeys) {
      clear();
      edges.forEach(function (e) { e.classList.add(edgeIds[e.id] ? 'hl' : 'dim'); });
      nodes.forEach(function (n) {
        n.classList.add(nodeKeys[n.getAttribute('data-key')] ? 'hl' : 'dim');
      });
      rows.forEach(function (r) { if (!edgeIds[r.getAttribute('data-edge')]) r.classList.add('dim'); });
    }
    function forNode(key) {
      var ids = {}, keys = {}; keys[key] = true;
      edges.forEach(function (e) {
        if (e.getAttribute('data-source') === key || e.getAttribute('data-target') === key) {
          ids[e.id] = true; keys[e.getAttribute('data-source')] = true; keys[e.getAttribute('data-target')] = true;
        }
      });
      return [ids, keys];
    }
    function forConnection(edgeId) {
      var edge = data.edges[edgeId], ids = {}, keys = {};
      edges.forEach(function (e) {
        var same = edge.connection ? e.getAttribute('data-connection') === edge.connection : e.id === edgeId;
        if (same) {
          ids[e.id] = true;
          keys[e.getAttribute('data-source')] = true;
          keys[e.getAttribute('data-target')] = true;
        }
      });
      return [ids, keys];
    }
    function show(title, pairs) {
      details.textContent = '';
      details.appendChild(el('h2', title));
      var dl = el('dl');
      pairs.forEach(function (p) {
        if (p[1] === '' || p[1] === null || p[1] === undefined) return;
        dl.appendChild(el('dt', p[0]));
        dl.appendChild(el('dd', String(p[1])));
      });
      details.appendChild(dl);
    }
    function describeNode(key) {
      var n = data.nodes[key] || data.targets[key];
      if (!n) return;
      var uses = Object.keys(data.edges).filter(function (id) {
        return data.edges[id].source === key || data.edges[id].target === key;
      });
      show(n.name, [['kind', n.kind], ['type', n.type], ['type from', n.type_source], ['directory', n.directory],
        ['manifest', n.manifest], ['target', n.detail], ['problems', (n.problems || []).join('; ')],
        ['connections', uses.map(function (id) { return data.edges[id].name; }).join(', ')]]);
    }
    function describeEdge(id) {
      var e = data.edges[id];
      var users = !e.connection ? [] : Object.keys(data.edges).filter(function (k) {
        return data.edges[k].connection === e.connection && data.edges[k].status === 'ok';
      }).map(function (k) { return data.edges[k].source_name; });
      show(e.name, [['status', e.status], ['visibility', e.visibility], ['owner', e.owner], ['type', e.type],
        ['Connection ID', e.connection], ['resourceRef', e.resource_ref], ['OAuth application', e.oauth],
        ['target', e.target_name], ['used by', users.join(', ') || 'no given component'],
        ['note', e.note], ['referenced at', (e.references || []).join('; ')]]);
    }
    nodes.forEach(function (n) {
      var key = n.getAttribute('data-key');
      n.addEventListener('mouseenter', function () { if (!pinned) { var h = forNode(key); highlight(h[0], h[1]); } });
      n.addEventListener('mouseleave', function () { if (!pinned) clear(); });
      n.addEventListener('click', function (event) {
        if (event.target.closest('g.row')) return;
        pinned = key; var h = forNode(key); highlight(h[0], h[1]); describeNode(key); event.stopPropagation();
      });
    });
    function edgeEvents(e, id) {
      e.addEventListener('mouseenter', function () {
        if (!pinned) { var h = forConnection(id); highlight(h[0], h[1]); }
      });
      e.addEventListener('mouseleave', function () { if (!pinned) clear(); });
      e.addEventListener('click', function (event) {
        pinned = id; var h = forConnection(id); highlight(h[0], h[1]); describeEdge(id); event.stopPropagation();
      });
    }
    edges.forEach(function (e) { edgeEvents(e, e.id); });
    rows.forEach(function (r) { edgeEvents(r, r.getAttribute('data-edge')); });
    svg.addEventListener('click', function () { pinned = null; clear(); });

    var scale = 1;
    function zoom(factor) {
      var room = (document.getElementById('canvas').clientWidth - 30) / data.width;
      scale = factor === 0 ? Math.min(1, room) : Math.max(0.2, Math.min(3, scale * factor));
      svg.setAttribute('width', Math.round(data.width * scale));
      svg.setAttribute('height', Math.round(data.height * scale));
    }
    document.getElementById('zoom-in').addEventListener('click', function () { zoom(1.25); });
    document.getElementById('zoom-out').addEventListener('click', function () { zoom(0.8); });
    document.getElementById('zoom-fit').addEventListener('click', function () { zoom(0); });

    var filter = document.getElementById('filter');
    filter.addEventListener('input', function () {
      var q = filter.value.trim().toLowerCase();
      pinned = null; clear();
      document.querySelectorAll('#connections tbody tr, #components tbody tr').forEach(function (tr) {
        tr.classList.toggle('hidden', q !== '' && tr.textContent.toLowerCase().indexOf(q) < 0);
      });
      if (!q) return;
      var ids = {}, keys = {};
      Object.keys(data.edges).forEach(function (id) {
        var e = data.edges[id];
        if ((e.name + ' ' + e.source_name + ' ' + e.target_name + ' ' + e.connection).toLowerCase().indexOf(q) >= 0) {
          ids[id] = true; keys[e.source] = true; keys[e.target] = true;
        }
      });
      Object.keys(data.nodes).concat(Object.keys(data.targets)).forEach(function (k) {
        var n = data.nodes[k] || data.targets[k];
        if (n.name.toLowerCase().indexOf(q) >= 0) { keys[k] = true; }
      });
      highlight(ids, keys);
    });
    document.documentElement.setAttribute('data-diagram', 'ready');
    status.textContent = 'ready';
  } catch (error) {
    fail(error && error.message ? error.message : String(error));
  }
})();
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def page_data(diagram: ProjectDiagram, layout: Layout) -> dict[str, Any]:
    """What the script needs, keyed as the SVG's data attributes: names, IDs, refs; no values."""
    edge_of = {id(card_row.use): card_row.edge for card in layout.cards for card_row in card.rows}
    names = {c.key: c.name for c in diagram.components} | {t.key: t.label for t in diagram.targets}
    names["(project)"] = "project connections"
    edges = {}
    for use in diagram.uses:
        info = use.connection
        edges[edge_of[id(use)]] = {
            "name": use.name,
            "source": use.source,
            "source_name": names.get(use.source, use.source),
            "target": use.target,
            "target_name": names.get(use.target, use.target),
            "status": use.status,
            "connection": info.connection_id if info else "",
            "visibility": visibility_label(info.visibility) if info else "",
            "owner": info.owner or "" if info else "",
            "type": info.type if info else "",
            "resource_ref": info.resource_ref or "" if info else "",
            "oauth": (info.oauth_app + (" (shared)" if oauth_shared(diagram, use) else ""))
            if info and info.oauth_app
            else "",
            "note": use.note,
            "references": list(use.references),
        }
    nodes = {
        c.key: {
            "name": c.name,
            "kind": "component",
            "type": c.type,
            "type_source": c.type_source,
            "directory": c.directory or "",
            "manifest": c.manifest or "",
            "problems": list(c.problems),
        }
        for c in diagram.components
    }
    nodes["(project)"] = {"name": "Project connections nobody uses", "kind": "project", "problems": []}
    targets = {t.key: {"name": t.label, "kind": t.kind, "detail": t.detail} for t in diagram.targets if not t.internal}
    return {"width": layout.width, "height": layout.height, "edges": edges, "nodes": nodes, "targets": targets}


def _json_for_script(data: dict[str, Any]) -> str:
    """JSON that cannot close its <script> element, whatever the names hold."""
    text = json.dumps(data, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _flags_html(flags: list[tuple[str, str]]) -> str:
    return (
        "".join(f'<span class="flag {cls}">{_e(text)}</span>' for text, cls in flags)
        or '<span class="flag ok">ok</span>'
    )


def render_html(diagram: ProjectDiagram, layout: Layout) -> str:
    title = f"Project {diagram.project}: architecture (choreo-run)"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en" data-diagram="loading">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{PAGE_STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        f'<div class="heading"><h1>Project {_e(diagram.project)}</h1>',
        f'<div class="meta">{_e(summary(diagram))}</div></div>',
        '<div class="controls"><input id="filter" type="search" placeholder="Filter: component, connection, ID" '
        'aria-label="Filter"><button id="zoom-out" title="Zoom out">\u2212</button><button id="zoom-fit" '
        'title="Fit to width">Fit</button><button id="zoom-in" title="Zoom in">+</button></div>',
        "</header>",
        '<main><div id="canvas">',
        render_svg(diagram, layout, standalone=False),
        '</div><aside id="details"><h2>Details</h2><p>Hover over a component, a connection or a target to '
        "highlight what it touches; click to pin it and see its details here.</p>"
        "<p>Dashed indigo: project connection. Solid teal: component connection. Red: a reference a launch would "
        "refuse. Grey dotted: unused, or usage unknown. <b>OAuth \u00b7 shared</b>: one OAuth application serves "
        "several connections (rotating its secret affects all of them).</p></aside></main>",
    ]
    parts.append(_problems_section(diagram))
    parts.append(_connections_table(diagram))
    parts.append(_components_table(diagram))
    parts.append(_oauth_table(diagram))
    warnings = "".join(f"<li>{_e(w)}</li>" for w in diagram.warnings)
    parts.append(
        "<footer>Generated by <code>choreo-run diagram</code> from the manifests and the store's names, "
        "Connection IDs, visibility and resourceRefs; no value is read into this page."
        + (f"<ul>{warnings}</ul>" if warnings else "")
        + "</footer>"
    )
    parts.append('<div id="diagram-status">script not run</div>')
    parts.append(
        f'<script type="application/json" id="diagram-data">{_json_for_script(page_data(diagram, layout))}</script>'
    )
    parts.append(f"<script>{SCRIPT}</script>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _problems_section(diagram: ProjectDiagram) -> str:
    items = []
    for use in diagram.problems():
        label = "missing in the store" if use.status == MISSING else "not visible to this component"
        where = f" ({'; '.join(use.references)})" if use.references else ""
        items.append(
            f"<li><b>{_e(use.source[2:])}</b> uses <b>{_e(use.name)}</b>: {label}. {_e(use.note)}{_e(where)}</li>"
        )
    for node in diagram.components:
        items += [f"<li><b>{_e(node.name)}</b>: {_e(problem)}</li>" for problem in node.problems]
    if not items:
        none = "None: every reference resolves to a connection the component may use."
        return f'<section id="problems"><h2>Problems</h2><p>{none}</p></section>'
    return f'<section id="problems"><h2>Problems</h2><ul>{"".join(items)}</ul></section>'


def _connections_table(diagram: ProjectDiagram) -> str:
    shared = {a.app_id for a in diagram.oauth_apps if a.shared}
    rows = []
    for connection in sorted(diagram.connections, key=lambda s: (s.info.scope, s.info.name.lower())):
        info = connection.info
        target = diagram.target(connection.target)
        flags: list[tuple[str, str]] = []
        if info.oauth_app:
            marker = SHARED_MARK if info.oauth_app in shared else ""
            flags.append((f"OAuth {info.oauth_app}{marker}", "oauth"))
        flags += [(flag, "muted" if flag.startswith(("unused", "usage")) else "warn") for flag in connection.flags]
        rows.append(
            f'<tr data-connection="{_e(info.connection_id)}"><td><b>{_e(info.name)}</b></td>'
            f"<td><code>{_e(info.connection_id)}</code></td><td>{_e(info.type or '?')}</td>"
            f"<td>{_e(visibility_label(info.visibility))}</td><td>{_e(info.owner or diagram.project)}</td>"
            f"<td>{_e(target.label if target else connection.target)}<br>"
            f"<code>{_e(info.resource_ref or '')}</code></td>"
            f"<td>{_e(', '.join(connection.users) or '-')}</td><td>{_flags_html(flags)}</td></tr>"
        )
    for use in diagram.problems():
        target = diagram.target(use.target)
        status = "missing in store" if use.status == MISSING else "not visible"
        if use.status == NOT_VISIBLE:
            continue  # the connection has its own row; its problem is in the Problems section
        rows.append(
            f'<tr class="missing"><td><b>{_e(use.name)}</b></td><td>-</td><td>?</td><td>-</td><td>-</td>'
            f"<td>{_e(target.label if target else use.target)}</td><td>{_e(use.source[2:])}</td>"
            f"<td>{_flags_html([(status, 'bad')])}</td></tr>"
        )
    return (
        '<section><h2>Connections</h2><table id="connections"><thead><tr><th>name</th><th>Connection ID</th>'
        "<th>type</th><th>visibility</th><th>owner</th><th>target</th><th>used by</th><th>flags</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _components_table(diagram: ProjectDiagram) -> str:
    rows = []
    for node in diagram.components:
        uses = [u for u in diagram.uses if u.source == node.key]
        used = ", ".join(u.name for u in uses if u.status not in (UNUSED, UNCHECKED)) or "-"
        flags = [(p, "bad") for p in node.problems]
        origin = {"repository": node.directory or "", "store": "store only", "referenced": "referenced only"}[
            node.origin
        ]
        rows.append(
            f'<tr data-component="{_e(node.name)}"><td><b>{_e(node.name)}</b></td><td>{_e(node.type)}</td>'
            f"<td>{_e(node.type_source)}</td><td>{_e(origin)}</td><td>{_e(used)}</td><td>{_flags_html(flags)}</td></tr>"
        )
    return (
        '<section><h2>Components</h2><table id="components"><thead><tr><th>component</th><th>type</th>'
        "<th>type from</th><th>directory</th><th>connections used</th><th>flags</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _oauth_table(diagram: ProjectDiagram) -> str:
    if not diagram.oauth_apps:
        return ""
    rows = []
    for app in diagram.oauth_apps:
        owner = "project (shared)" if app.owner is None else f"component {app.owner}"
        rows.append(
            f"<tr><td><b>{_e(app.app_id)}</b></td><td>{_e(owner)}</td><td>{_e(', '.join(app.connections) or '-')}</td>"
            f"<td>{_e(', '.join(app.components) or '-')}</td></tr>"
        )
    return (
        '<section><h2>OAuth applications</h2><table id="oauth"><thead><tr><th>application</th><th>owner</th>'
        "<th>connections sharing it</th><th>components affected by rotating its secret</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )
