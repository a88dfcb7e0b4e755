"""`choreo-run connection create|list|show|update|delete|rotate` (docs/connections.md).

Every command works on a local store file or on etcd (`--backend`/`--store`, or CHOREO_RUN_BACKEND;
etcd credentials from CHOREO_RUN_ETCD_USER/_PASSWORD, as for `store push`). Changes go through
`launcher.backends.writer`, which serializes local writers and retries etcd writers that lost a race.
Secret values never come from the command line (`launcher.connections.input`) and are printed only
with `show --reveal`.
"""

from __future__ import annotations

import os
from typing import Any

import click

from launcher.backends.local.store_file import ALL_ENVIRONMENTS, Store, StoredConnection, StoredParameter
from launcher.backends.writer import StoreTarget, open_target
from launcher.cli.common import warn
from launcher.cli.decorators import use
from launcher.cli.options import CONNECTION_STORE, CONNECTION_VALUES
from launcher.cli.store import etcd_settings
from launcher.connections import operations as ops
from launcher.connections import snippets as text
from launcher.connections.input import parameter_updates, read_param_file, secret_value
from launcher.connections.oauth_apps import CLIENT_SECRET_BYTES, OAuthRequest, connections_using
from launcher.documents.shape import near_miss
from launcher.errors import UsageError
from launcher.manifest.reader import discover, load_manifest
from launcher.model import Manifest
from launcher.resolve.pipeline import DEFAULT_STORE_NAMES


def _default_store() -> str:
    """As for `run`: connections.yaml here (or .choreo/connections.yaml); created if neither exists.
    A symlink counts even when it leads nowhere: the write then refuses it rather than creating
    another store beside it."""
    return next((name for name in DEFAULT_STORE_NAMES if os.path.lexists(name)), DEFAULT_STORE_NAMES[0])


def _target(ctx: click.Context) -> StoreTarget:
    return open_target(ctx.params["backend"] or _default_store(), etcd_settings(ctx))


def _find(ctx: click.Context, store: Store, ref: str) -> StoredConnection:
    return ops.find_connection(store, ref, ctx.params["project"], ctx.params["component"])


@click.group("connection")
def connection_command() -> None:
    """Create and manage connections: IDs, visibility, parameters, shared OAuth applications."""


@connection_command.command("create")
@click.argument("name")
@use(
    "type",
    "visibility",
    "resource_ref",
    "oauth",
    "oauth_app",
    "dedicated_oauth_app",
    "token_url",
    *CONNECTION_VALUES,
    *CONNECTION_STORE,
)
@click.pass_context
def create(
    ctx: click.Context,
    name: str,
    kind: str,
    visibility: str,
    resource_ref: str | None,
    oauth: bool,
    oauth_app: str | None,
    dedicated_oauth_app: bool,
    token_url: str | None,
    **_: Any,
) -> None:
    """Create connection NAME; print its Connection ID and the manifest snippet to paste."""
    if (oauth_app or dedicated_oauth_app or token_url) and not oauth:
        raise UsageError("--oauth-app, --dedicated-oauth-app and --token-url go with --oauth")
    updates = _updates(ctx)
    target = _target(ctx)
    project = ctx.params["project"] or _only_project(target)
    component = ctx.params["component"]
    if visibility == "project" and ctx.get_parameter_source("component") == click.core.ParameterSource.ENVIRONMENT:
        component = None  # CHOREO_RUN_COMPONENT describes who runs, not who owns a project connection
    request = OAuthRequest(oauth_app, dedicated_oauth_app, token_url, ctx.params["environments"]) if oauth else None
    spec = ops.ConnectionSpec(
        project,
        name,
        kind,
        visibility,
        component,
        {u.key: StoredParameter(u.values, u.secret) for u in updates},
        resource_ref,
        request,
    )
    store, created = target.modify(lambda current: _with_store(ops.create_connection(current, spec)))
    click.echo(text.created_text(created.connection, _oauth_note(store, created)), nl=False)
    if created.component_registered:
        warn(_registered_note(store, created.connection))


def _registered_note(store: Store, connection: StoredConnection) -> str:
    """A component connection registers its owner: said, since a misspelt -c registers a new component."""
    others = sorted(set(store.projects[connection.project].components) - {connection.component})
    close = near_miss(connection.component or "", frozenset(others))
    hint = f"; did you mean {close!r}?" if close else f" (its other components: {', '.join(others) or 'none'})"
    return f"component {connection.component!r} was not in project {connection.project!r}; registered it{hint}"


def _with_store(outcome: tuple[Store, Any]) -> tuple[Store, tuple[Store, Any]]:
    """Keep the new store in the result too, for messages about what it now holds."""
    return outcome[0], outcome


def _only_project(target: StoreTarget) -> str:
    projects = list(target.read().projects)
    if len(projects) != 1:
        raise UsageError("which project? pass --project (or set CHOREO_RUN_PROJECT)")
    return projects[0]


def _updates(ctx: click.Context) -> tuple[ops.ParameterUpdate, ...]:
    return parameter_updates(
        ctx.params["params"],
        ctx.params["secrets"],
        ctx.params["param_file"],
        ctx.params["environments"],
        prompt=_hidden_prompt,
    )


def _hidden_prompt(label: str) -> str:
    """A secret typed at the terminal, not echoed; the prompt goes to stderr so stdout stays clean."""
    return str(click.prompt(label, hide_input=True, err=True))


def _oauth_note(store: Store, created: ops.Created) -> str | None:
    if created.oauth_app is None:
        return None
    project = store.projects[created.connection.project]
    app = project.oauth_apps[created.oauth_app]
    owner = "the project's shared" if app.component is None else f"component {app.component!r}'s"
    users = len(connections_using(project, app.app_id))
    state = "created now" if created.oauth_app_created else f"now used by {users} connections"
    return f"OAuth: {owner} application {app.app_id} ({state}; same client ID and secret for every user)"


@connection_command.command("add-component")
@click.argument("name")
@use(*CONNECTION_STORE)
@click.pass_context
def add_component(ctx: click.Context, name: str, **_: Any) -> None:
    """Register component NAME in the project, so it can launch with the project's connections."""
    target = _target(ctx)
    project = ctx.params["project"] or _only_project(target)
    added = target.modify(lambda store: ops.add_component(store, project, name))
    click.echo(f"{'added' if added else 'already present:'} component {name} in project {project}")


@connection_command.command("list")
@use(*CONNECTION_STORE)
@click.pass_context
def list_command(ctx: click.Context, **_: Any) -> None:
    """List connections and OAuth applications (no values)."""
    click.echo(text.listing(_target(ctx).read(), ctx.params["project"]), nl=False)


@connection_command.command("show")
@click.argument("ref", metavar="NAME|ID")
@use("show_reveal", "show_component_dir", *CONNECTION_STORE)
@click.pass_context
def show(ctx: click.Context, ref: str, reveal: bool, component_dirs: tuple[str, ...], **_: Any) -> None:
    """Show one connection, its values per environment, the variables it injects, and who uses it
    (the components in the -C directories whose manifests refer to it), before a delete or a rotation."""
    from launcher.diagram.build import diagram_for_store
    from launcher.diagram.inventory import inventory_from_store
    from launcher.diagram.usage import usage_text

    target = _target(ctx)
    store = target.read()
    connection = _find(ctx, store, ref)
    click.echo(text.details(store, connection, reveal), nl=False)
    inventory = inventory_from_store(store, connection.project, "development", target.description)
    diagram = diagram_for_store(inventory, list(component_dirs))
    click.echo(usage_text(diagram, connection.connection_id, bool(component_dirs)), nl=False)


@connection_command.command("update")
@click.argument("ref", metavar="NAME|ID")
@use("remove", "new_resource_ref", *CONNECTION_VALUES, *CONNECTION_STORE)
@click.pass_context
def update(ctx: click.Context, ref: str, removals: tuple[str, ...], resource_ref: str | None, **_: Any) -> None:
    """Change parameter values (per environment with --env); effective at each component's next launch."""
    updates = _updates(ctx)
    if not (updates or removals or resource_ref):
        raise UsageError("nothing to change: give --param, --secret, --param-file, --remove or --resource-ref")

    def change(store: Store) -> tuple[Store, StoredConnection]:
        return ops.update_connection(
            store, _find(ctx, store, ref), updates, removals, ctx.params["environments"], resource_ref
        )

    connection = _target(ctx).modify(change)
    keys = ", ".join([u.key for u in updates] + [f"-{key}" for key in removals]) or "resourceRef"
    click.echo(
        f"updated {connection.name} ({connection.connection_id}): {keys}; "
        f"{_where(ctx.params['environments'])}; effective at the next launch"
    )


def _where(environments: tuple[str, ...]) -> str:
    return f"environments {', '.join(environments)}" if environments else "every environment"


@connection_command.command("delete")
@click.argument("ref", metavar="NAME|ID")
@use("guard_component_dir", "force", "prune", *CONNECTION_STORE)
@click.pass_context
def delete(ctx: click.Context, ref: str, component_dirs: tuple[str, ...], force: bool, prune: bool, **_: Any) -> None:
    """Delete a connection (refused while a given component's manifest still uses it)."""
    manifests = [load_manifest(discover(directory)[0]) for directory in component_dirs]

    def change(store: Store) -> tuple[Store, ops.Deleted]:
        connection = _find(ctx, store, ref)
        if not force:
            _refuse_if_referenced(manifests, connection)
        return ops.delete_connection(store, connection, prune)

    deleted = _target(ctx).modify(change)
    click.echo(f"deleted {deleted.connection.name} ({deleted.connection.connection_id})")
    for app in deleted.unused_apps:
        fate = "deleted (--prune)" if deleted.pruned else "kept, with its client ID (delete it with --prune)"
        click.echo(f"OAuth application {app} is no longer used by any connection: {fate}")


def _refuse_if_referenced(manifests: list[Manifest], connection: StoredConnection) -> None:
    uses = [
        f"{manifest.file}: {path}" for manifest in manifests for path in ops.manifest_references(manifest, connection)
    ]
    if uses:
        raise UsageError(
            f"connection {connection.name!r} is still referenced ({'; '.join(uses)}); "
            "remove the references first, or pass --force"
        )


@connection_command.command("rotate")
@click.argument("ref", metavar="[NAME|ID]", required=False)
@click.argument("key", required=False)
@use("rotate_oauth_app", "rotate_env", "generate", "rotate_param_file", *CONNECTION_STORE)
@click.pass_context
def rotate(
    ctx: click.Context,
    ref: str | None,
    key: str | None,
    oauth_app: str | None,
    environments: tuple[str, ...],
    generate: bool,
    param_file: str | None,
    **_: Any,
) -> None:
    """Rotate a secret parameter (NAME KEY), or an OAuth client secret (NAME of an OAuth connection,
    or --oauth-app ID): every connection sharing the application injects the new one at its next launch."""
    target = _target(ctx)
    if oauth_app or (ref and key in (None, "ConsumerSecret")):
        _rotate_oauth(ctx, target, ref, oauth_app, environments)
        return
    if not (ref and key):
        raise UsageError("expected NAME KEY (a secret parameter), NAME of an OAuth connection, or --oauth-app ID")
    value = ops.Generators().token(CLIENT_SECRET_BYTES) if generate else _new_secret(key, param_file, environments)
    values = {env: value for env in environments} or {ALL_ENVIRONMENTS: value}
    connection = target.modify(lambda store: ops.rotate_parameter(store, _find(ctx, store, ref), key, values))
    click.echo(f"rotated {key} of {connection.name} ({_where(environments)}); effective at the next launch")


def _new_secret(key: str, param_file: str | None, environments: tuple[str, ...]) -> str:
    from_file = read_param_file(param_file, environments) if param_file else {}
    if key in from_file:
        return next(iter(from_file[key].values.values()))
    return secret_value(key, param_file, prompt=_hidden_prompt)


def _rotate_oauth(
    ctx: click.Context, target: StoreTarget, ref: str | None, app_id: str | None, environments: tuple[str, ...]
) -> None:
    def change(store: Store) -> tuple[Store, tuple[Store, str, tuple[str, ...]]]:
        project, app = _app_of(ctx, store, ref, app_id)
        new_store, rotated = ops.rotate_oauth_secret(store, project, app, environments)
        return new_store, (new_store, app, rotated)

    store, app, rotated = target.modify(change)
    project = next(p for p in store.projects.values() if app in p.oauth_apps)
    users = [f"{c.name} ({c.component or 'project'})" for c in connections_using(project, app)]
    click.echo(
        f"rotated the client secret of OAuth application {app} ({', '.join(rotated)}); "
        f"shared by: {', '.join(users) or 'no connection'}; every component using them gets the new "
        "secret at its next launch"
    )


def _app_of(ctx: click.Context, store: Store, ref: str | None, app_id: str | None) -> tuple[str, str]:
    if app_id:
        return ops.project_of(store, ctx.params["project"]).name, app_id
    connection = _find(ctx, store, str(ref))
    if connection.oauth_app is None:
        raise UsageError(f"connection {connection.name!r} does not use OAuth; name the secret parameter to rotate")
    return connection.project, connection.oauth_app
