"""Text for `choreo-run connection`: the manifest snippets to paste, and connection listings.

Secret values appear only when the caller passes `reveal=True` (the `--reveal` flag); otherwise
they are masked, and their presence per environment is all that is shown.
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml

from launcher.backends.local.store_file import ALL_ENVIRONMENTS, Store, StoredConnection, StoredOAuthApp
from launcher.connections.oauth_apps import connections_using
from launcher.keys import MASK, oauth_keys
from launcher.naming import default_variable


def connection_keys(connection: StoredConnection) -> list[tuple[str, bool]]:
    """Every key the service receives, with whether it is secret; OAuth keys come from the application."""
    keys = [(key, parameter.secret) for key, parameter in connection.parameters.items()]
    if connection.oauth_app:
        keys += oauth_keys()
    return keys


def manifest_snippets(connection: StoredConnection) -> tuple[dict, dict]:
    """The `dependencies` block in the connectionReferences form and in the serviceReferences form;
    both inject the same variable names, so either can be pasted."""
    by_name = {
        "dependencies": {
            "connectionReferences": [
                {"name": connection.name, "resourceRef": connection.resource_ref or _default_ref(connection)}
            ]
        }
    }
    env = [{"from": key, "to": default_variable(connection.name, key)} for key, _ in connection_keys(connection)]
    by_id = {
        "dependencies": {
            "serviceReferences": [{"name": connection.name, "connectionConfig": connection.connection_id, "env": env}]
        }
    }
    return by_name, by_id


def _default_ref(connection: StoredConnection) -> str:
    return {"database": f"database:{connection.name}", "storage": f"storage:{connection.name}"}.get(
        connection.type, f"thirdparty:{connection.name}/v1"
    )


def created_text(connection: StoredConnection, oauth_note: str | None) -> str:
    by_name, by_id = manifest_snippets(connection)
    scope = f"component {connection.component!r}" if connection.component else f"project {connection.project!r}"
    lines = [
        f"Created {connection.visibility} connection {connection.name!r} for {scope}.",
        f"Connection ID: {connection.connection_id}",
    ]
    if oauth_note:
        lines.append(oauth_note)
    lines += [
        "",
        "Paste into .choreo/component.yaml (schemaVersion 1.1 or later):",
        "",
        _yaml(by_name),
        "Or, with the Connection ID (schemaVersion 1.0 and later; rename the `to` variables freely):",
        "",
        _yaml(by_id),
        "The service reads:",
    ]
    lines += [
        f"  {default_variable(connection.name, key)}{'  (secret)' if secret else ''}"
        for key, secret in connection_keys(connection)
    ]
    return "\n".join(lines) + "\n"


def _yaml(document: dict) -> str:
    return yaml.safe_dump(document, sort_keys=False, indent=2, default_flow_style=False)


def listing(store: Store, project: str | None) -> str:
    rows = [("ID", "NAME", "TYPE", "VISIBILITY", "OWNER", "OAUTH APP")]
    rows += [
        (c.connection_id, c.name, c.type, c.visibility, c.component or f"project {c.project}", c.oauth_app or "-")
        for c in store.all_connections()
        if project in (None, c.project)
    ]
    apps = [(p, app) for p in store.projects.values() if project in (None, p.name) for app in p.oauth_apps.values()]
    text = _table(rows)
    if apps:
        app_rows = [("OAUTH APP", "OWNER", "ENVIRONMENTS", "USED BY")]
        app_rows += [
            (
                app.app_id,
                app.component or f"project {p.name} (shared)",
                ",".join(app.environments),
                str(len(connections_using(p, app.app_id))),
            )
            for p, app in apps
        ]
        text += "\n" + _table(app_rows)
    return text


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip() + "\n" for row in rows
    )


def details(store: Store, connection: StoredConnection, reveal: bool) -> str:
    lines = [
        f"{name}: {value}"
        for name, value in (
            ("Connection ID", connection.connection_id),
            ("Name", connection.name),
            ("Type", connection.type),
            ("Visibility", connection.visibility),
            ("Project", connection.project),
            ("Component", connection.component),
            ("Resource", connection.resource_ref),
            ("OAuth application", connection.oauth_app),
        )
        if value
    ]
    lines.append("Parameters:")
    for key, parameter in connection.parameters.items():
        for env, value in sorted(parameter.values.items()):
            shown = value if reveal or not parameter.secret else MASK
            where = "all environments" if env == ALL_ENVIRONMENTS else env
            lines.append(f"  {key} [{where}]: {shown}{'  (secret)' if parameter.secret else ''}")
    if connection.oauth_app:
        lines += _oauth_lines(store, connection, reveal)
    lines.append(
        "Variables: " + ", ".join(default_variable(connection.name, key) for key, _ in connection_keys(connection))
    )
    return "\n".join(lines) + "\n"


def _oauth_lines(store: Store, connection: StoredConnection, reveal: bool) -> list[str]:
    project = store.projects[connection.project]
    app: StoredOAuthApp = project.oauth_apps[connection.oauth_app or ""]
    sharing = [c.name for c in connections_using(project, app.app_id) if c.connection_id != connection.connection_id]
    lines = [
        f"  (from OAuth application {app.app_id}, "
        f"{'shared by the project' if app.component is None else f'owned by {app.component}'}"
        f"{'; also used by ' + ', '.join(sharing) if sharing else ''})"
    ]
    for env, values in app.environments.items():
        secret = values["clientSecret"] if reveal else MASK
        lines += [
            f"  ConsumerKey [{env}]: {values['clientId']}",
            f"  ConsumerSecret [{env}]: {secret}  (secret)",
            f"  TokenURL [{env}]: {values['tokenUrl']}",
        ]
    return lines
