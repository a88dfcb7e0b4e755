"""`choreo-run store push|pull|roles`: the etcd side of the local store (docs/backends/etcd.md).

Commands raise launcher errors; the main CLI turns them into one-line messages and exit codes.
Credentials come from the environment only (never from the command line, where `ps` shows them).
"""

from __future__ import annotations

import sys

import click

from launcher.backends import BackendSettings
from launcher.backends.etcd import sync as etcd_sync
from launcher.cli.options import REACH, use
from launcher.credentials import etcd_credentials, write_private


def etcd_settings(ctx: click.Context) -> BackendSettings:
    user, password = etcd_credentials()  # the same variables as every other command
    return BackendSettings(
        username=user,
        password=password,
        ca_file=ctx.params["ca_file"],
        timeout=ctx.params["timeout"],
        deadline=ctx.params["deadline"],
    )


@click.group("store")
def store_command() -> None:
    """Copy the local store into etcd and back (credentials: $CHOREO_RUN_ETCD_USER/_PASSWORD)."""


@store_command.command("push")
@use("push_store", "expect_revision", *REACH)
@click.argument("url")
@click.pass_context
def push(ctx: click.Context, store_file: str, expect_revision: int | None, url: str, **_: object) -> None:
    """Make etcd at URL hold exactly the store file, in one transaction."""
    result = etcd_sync.push_file(store_file, url, etcd_settings(ctx), expect_revision)
    if result.revision == 0:
        click.echo(f"etcd already holds this store ({result.unchanged} keys unchanged)")
    else:
        click.echo(
            f"pushed at revision {result.revision}: {result.written} keys written, "
            f"{result.deleted} deleted, {result.unchanged} unchanged"
        )


@store_command.command("pull")
@use("pull_output", *REACH)
@click.argument("url")
@click.pass_context
def pull(ctx: click.Context, output: str | None, url: str, **_: object) -> None:
    """Write the store etcd at URL holds back as store YAML."""
    text, pulled = etcd_sync.pull_text(url, etcd_settings(ctx))
    if output is None:
        sys.stdout.write(text)
        return
    write_private(output, text)
    click.echo(f"wrote {output} (revision {pulled.revision})", err=True)


@store_command.command("roles")
@use("roles_project", "users_file", "reset_passwords", "enable_auth", *REACH)
@click.argument("url")
@click.pass_context
def roles(
    ctx: click.Context,
    project: str,
    users_file: str | None,
    reset_passwords: bool,
    enable_auth: bool,
    url: str,
    **_: object,
) -> None:
    """Create or correct the per-component roles of docs/backends/etcd.md."""
    granted = etcd_sync.create_roles(
        url,
        etcd_settings(ctx),
        project,
        users=users_file is not None,
        reset_passwords=reset_passwords,
        enable_auth=enable_auth,
    )
    for access in granted:
        click.echo(f"role {access.role}: read {', '.join(access.prefixes)}")
    created = sum(1 for access in granted if access.password)
    if users_file is not None and created:
        write_private(users_file, etcd_sync.credentials_text(granted))
        click.echo(f"wrote {created} new password(s) to {users_file}", err=True)
    elif users_file is not None:
        click.echo("no user created; existing passwords unchanged (--reset-passwords to change them)", err=True)
