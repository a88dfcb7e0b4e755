"""`connection show`'s "used by": who a delete or a rotation would affect, from the diagram's analysis."""

from __future__ import annotations

from launcher.diagram.analysis import NOT_VISIBLE, OK, ProjectDiagram


def usage_text(diagram: ProjectDiagram, connection_id: str, directories_given: bool) -> str:
    summary = next((s for s in diagram.connections if s.info.connection_id == connection_id), None)
    if summary is None:
        return ""
    info = summary.info
    lines = []
    if info.owner:
        lines.append(f"May be used by: component {info.owner} only (component connection)")
    else:
        everyone = sorted({c.name for c in diagram.components if c.registered})
        lines.append(
            f"May be used by: any component of project {diagram.project} (project connection)"
            + (f": {', '.join(everyone)}" if everyone else "")
        )
    uses = diagram.users_of(connection_id)
    if not directories_given:
        lines.append("Used by: give the component directories (-C DIR, repeatable) to list the manifests that use it")
    else:
        ok = [u for u in uses if u.status == OK]
        refused = [u for u in uses if u.status == NOT_VISIBLE]
        checked = len([c for c in diagram.components if c.manifest])
        if ok:
            lines.append(f"Used by ({len(ok)} of {checked} components checked):")
            for use in ok:
                node = diagram.component(use.source)
                where = f"{node.manifest}: " if node is not None and node.manifest else ""
                lines.append(f"  {use.source[2:]}  ({where}{'; '.join(use.references)})")
        else:
            lines.append(f"Used by: none of the {checked} components checked")
        lines += [f"  {u.source[2:]} refers to it but may not use it: {u.note}" for u in refused]
    if info.oauth_app:
        app = next((a for a in diagram.oauth_apps if a.app_id == info.oauth_app), None)
        if app is not None:
            others = [name for name in app.connections if name != info.name]
            sharing = f"shared with {', '.join(others)}" if others else "used by no other connection"
            affected = f"; rotating its secret affects {', '.join(app.components)}" if app.components else ""
            lines.append(f"OAuth application {app.app_id}: {sharing}{affected}")
    return "\n".join(lines) + "\n"
