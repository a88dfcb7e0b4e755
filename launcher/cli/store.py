"""`choreo-run store push|pull|roles`: the etcd side of the local store (docs/backends/etcd.md).

Commands raise launcher errors; the main CLI turns them into one-line messages and exit codes.
Credentials come from the environment only (never from the command line, where `ps` shows them).

Writers never lose data: `pull -o` writes a symlinked store at its target under the store's lock
(`writer.replace_file`), and `roles --users-file` merges the users it created into the file
(`UsersFile`), keeping every other user's entry as it was.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
from collections.abc import Iterable

import click

from launcher.backends import BackendSettings
from launcher.backends.etcd import sync as etcd_sync
from launcher.backends.writer import replace_file, resolve_link, wait_for_lock
from launcher.cli.decorators import use
from launcher.cli.options import REACH
from launcher.credentials import etcd_credentials
from launcher.errors import OutputError
from launcher.files.atomic import write_at
from launcher.files.private import open_private_directory
from launcher.files.reading import decode_text, describe_mode
from launcher.resolve.output import dotenv_line


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
    replace_file(output, text)  # a symlinked store is written at its target; mode 0600
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
    """Create or complete the per-component roles of docs/backends/etcd.md (never adopting another scope's)."""
    if users_file is None:
        _report(_create_roles(ctx, url, project, reset_passwords, enable_auth, None))
        return
    with UsersFile(users_file) as kept:  # checked, locked and read before etcd is changed
        granted = _create_roles(ctx, url, project, reset_passwords, enable_auth, kept)
    _report(granted)
    created = sum(1 for access in granted if access.password)
    if created:
        click.echo(f"wrote {created} new password(s) to {users_file} (other users kept)", err=True)
    else:
        click.echo("no user created; existing passwords unchanged (--reset-passwords to change them)", err=True)


def _create_roles(
    ctx: click.Context,
    url: str,
    project: str,
    reset_passwords: bool,
    enable_auth: bool,
    kept: UsersFile | None,
) -> list[etcd_sync.ComponentAccess]:
    return etcd_sync.create_roles(
        url,
        etcd_settings(ctx),
        project,
        users=kept is not None,
        reset_passwords=reset_passwords,
        enable_auth=enable_auth,
        on_password=None if kept is None else kept.keep,
    )


def _report(granted: list[etcd_sync.ComponentAccess]) -> None:
    for access in granted:
        click.echo(f"role {access.role}: read {', '.join(access.prefixes)}")


# ---------------------------------------------------------------- --users-file

USER_VARIABLE = "CHOREO_RUN_ETCD_USER"
PASSWORD_VARIABLE = "CHOREO_RUN_ETCD_PASSWORD"
USERS_FILE_HEADER = (
    "# etcd users created by `choreo-run store roles`: one block per component, the values to give its\n"
    f"# launcher as {USER_VARIABLE} and {PASSWORD_VARIABLE}. Keep this file private.\n"
)
USERS_FILE_LIMIT = 4 << 20
# A user line as this file has ever written it: `NAME=user` (before) or `NAME='user'` (dotenv_line).
_USER_LINE = re.compile(rf"{USER_VARIABLE}=(?:'([^'\n]*)'|([^'\s]*))[ \t]*\r?\n?")


class UsersFile:
    """`--users-file`: the passwords `store roles` sets, merged into what the file already holds.

    Before etcd is changed the file is resolved (a symlink: its target, resolved once), its
    directory checked (one no other user can change: launcher.files.private, as the user named it) and
    locked (an exclusive flock on the directory, held to the end), and the file read: a regular
    file of ours, cut into one entry per user. Each password is written as soon as etcd has set it
    (`keep`): the file is replaced atomically, mode 0600, holding every earlier entry as it was
    except the users whose password this run set, whose entries are replaced. Values are written by
    `dotenv_line`, so sh, bash and python-dotenv read them back exactly.
    """

    def __init__(self, path: str) -> None:
        self.shown = path
        self.target = resolve_link(path)
        self._directory, self._name = os.path.split(os.path.abspath(self.target))
        self._fd = -1
        self._entries: list[tuple[str | None, str]] = []  # (user, its lines), or (None, other lines)

    def __enter__(self) -> UsersFile:
        try:
            self._fd, _ = open_private_directory(self._directory, trusted=True, repair=False)
        except OSError as error:
            raise OutputError(f"{self.shown}: cannot write the users file there: {error.strerror}") from None
        try:
            wait_for_lock(self._fd, self.shown)
            self._entries = self._read()
        except BaseException:
            os.close(self._fd)
            raise
        return self

    def __exit__(self, *_: object) -> None:
        os.close(self._fd)  # releases the lock

    def _read(self) -> list[tuple[str | None, str]]:
        try:
            descriptor = os.open(self._name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=self._fd)
        except FileNotFoundError:
            return []
        except OSError as error:
            why = "is a symlink (it changed since it was resolved)" if error.errno == errno.ELOOP else error.strerror
            raise OutputError(f"{self.shown}: cannot read the users file: {why}; nothing was changed") from None
        try:
            info = os.fstat(descriptor)
            if not stat.S_ISREG(info.st_mode):
                raise OutputError(f"{self.shown}: not a regular file but {describe_mode(info.st_mode)}")
            if info.st_uid != os.geteuid():
                raise OutputError(f"{self.shown}: owned by uid {info.st_uid}, not you; nothing was changed")
            raw = os.read(descriptor, USERS_FILE_LIMIT + 1)
        finally:
            os.close(descriptor)
        if len(raw) > USERS_FILE_LIMIT:
            raise OutputError(f"{self.shown}: larger than a users file can be; nothing was changed")
        entries = users_file_entries(decode_text(raw))
        if not any(user for user, _ in entries) and any(map(_is_content, "".join(t for _, t in entries).splitlines())):
            raise OutputError(
                f"{self.shown}: holds no {USER_VARIABLE}= entry, so it is not a users file of `store roles`; "
                "not overwritten, nothing was changed (name another file)"
            )
        return entries

    def keep(self, access: etcd_sync.ComponentAccess) -> None:
        """Write `access`'s new password into the file now (replacing its earlier entry, if any)."""
        block = users_file_block(access)
        if any(user == access.role for user, _ in self._entries):
            first = next(i for i, (user, _) in enumerate(self._entries) if user == access.role)
            self._entries = [
                (user, _replaced(text, block) if i == first else text)
                for i, (user, text) in enumerate(self._entries)
                if user != access.role or i == first
            ]
        else:
            if not self._entries:
                self._entries.append((None, USERS_FILE_HEADER))
            before = _joined(text for _, text in self._entries)
            self._entries.append((access.role, ("" if before.endswith("\n\n") else "\n") + block))
        text = _joined(text for _, text in self._entries)
        try:
            write_at(self._fd, self._name, text.encode("utf-8"), 0o600)
        except OSError as error:
            raise OutputError(
                f"{self.shown}: cannot write: {error.strerror}; etcd user {access.role} now has a password that was "
                "not saved: fix the file, then run again with --reset-passwords"
            ) from None


def users_file_block(access: etcd_sync.ComponentAccess) -> str:
    """One user's entry: a comment naming the component (escaped: one line whatever the name), then
    both variables as dotenv lines."""
    assert access.password is not None
    return (
        f"# component {access.component!r}\n"
        + dotenv_line(USER_VARIABLE, access.role)
        + dotenv_line(PASSWORD_VARIABLE, access.password)
    )


def users_file_entries(text: str) -> list[tuple[str | None, str]]:
    """`text` cut into entries: each user line with the comment lines just above it and whatever
    follows up to the next entry, as (user, text); anything before the first entry as (None, text).
    Joined again they are `text`, unchanged."""
    lines = text.splitlines(keepends=True)
    starts: list[tuple[int, str]] = []
    floor = 0  # the line after the previous user line: its entry's lines end no earlier
    for index, line in enumerate(lines):
        if match := _USER_LINE.fullmatch(line):
            start = index
            while start > floor and lines[start - 1].lstrip().startswith("#"):
                start -= 1
            starts.append((start, match[1] if match[1] is not None else match[2]))
            floor = index + 1
    entries: list[tuple[str | None, str]] = []
    if not starts or starts[0][0] > 0:
        entries.append((None, "".join(lines[: starts[0][0] if starts else len(lines)])))
    for position, (start, user) in enumerate(starts):
        end = starts[position + 1][0] if position + 1 < len(starts) else len(lines)
        entries.append((user, "".join(lines[start:end])))
    return [(user, text) for user, text in entries if text or user]


def _replaced(entry: str, block: str) -> str:
    """`entry` with its component comment, user line and password line replaced by `block`; any
    other line (a note of the user's) kept where it was."""
    lines = entry.splitlines(keepends=True)
    at = next(index for index, line in enumerate(lines) if _USER_LINE.fullmatch(line))
    above = [line for line in lines[:at] if not line.startswith("# component ")]
    below = [line for line in lines[at + 1 :] if not line.startswith(f"{PASSWORD_VARIABLE}=")]
    return "".join(above) + block + "".join(below)


def _is_content(line: str) -> bool:
    return bool(line.strip()) and not line.lstrip().startswith("#")


def _joined(texts: Iterable[str]) -> str:
    out = ""
    for text in texts:
        if out and not out.endswith("\n"):
            out += "\n"  # a hand-edited last line without its newline
        out += text
    return out
