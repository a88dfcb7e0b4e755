"""Reading the launcher's own secrets (tokens, passwords) and writing files only their owner may read.

Secrets come from a variable or from a file named by NAME_FILE (the Docker and Kubernetes secrets
convention). They go to backends only: every CHOREO_RUN_* variable is removed from the service's
environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from launcher.errors import ConfigurationError, OutputError
from launcher.files.atomic import atomic_write
from launcher.files.reading import FileRefused, read_small_text
from launcher.settings import secrets_in_block

MAX_SECRET_FILE_BYTES = 64 * 1024  # a token or a password; far more than any real one
MAX_ENV_FILE_BYTES = 4 * 1024 * 1024  # as a manifest or a store file (launcher.documents.yamlfile)


def read_secret_file(path: str, what: str) -> str | None:
    """The stripped text of a small regular file (never a FIFO or a device), None when empty."""
    try:
        return read_small_text(path, MAX_SECRET_FILE_BYTES).strip() or None
    except FileRefused as refused:
        raise ConfigurationError(f"{path}: {what}: {refused.reason}") from None


def secret_from_env(name: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """NAME, or the contents of the file named by NAME_FILE (which wins)."""
    file_name = environ.get(f"{name}_FILE")
    if file_name:
        return read_secret_file(file_name, f"{name}_FILE")
    return environ.get(name) or None


def etcd_credentials(environ: Mapping[str, str] = os.environ) -> tuple[str | None, str | None]:
    """(user, password) for etcd: CHOREO_RUN_ETCD_USER and CHOREO_RUN_ETCD_PASSWORD (or _PASSWORD_FILE)."""
    return environ.get("CHOREO_RUN_ETCD_USER") or None, secret_from_env("CHOREO_RUN_ETCD_PASSWORD", environ)


def write_private(path: str, text: str) -> None:
    """Replace `path` atomically with `text`, mode 0600: exports, pulled stores and credentials hold secrets."""
    from launcher.files.private import resolve_link

    target = resolve_link(path)  # a symlink is written at its target, not replaced by a file
    try:
        atomic_write(target, text.encode("utf-8"), mode=0o600)
    except OSError as error:
        raise OutputError(f"{path}: cannot write: {error.strerror}") from None


# ---------------------------------------------------------------- keeping secrets out of /proc/PID/environ

HANDOVER_VARIABLE = "CHOREO_RUN_HANDOVER_FD"
_PIPE_CAPACITY = 65536  # Linux's default; the secrets are written before the exec, so they must fit
# Runs in the re-executed interpreter: the package directory replaces sys.path[0] ('' for -c: the
# working directory, which may be a cloned repository, must not shadow what the launcher imports).
_BOOT = "import sys; sys.path[0] = sys.argv.pop(1); from launcher.entry import main; main()"


def hold_secrets_privately(argv: list[str]) -> None:
    """Keep the launcher's secrets out of its initial environment block before it stays resident.

    /proc/PID/environ shows the environment given to execve, whatever the process does to
    os.environ afterwards, and a service running as the same user can read its parent's. So a
    launcher that will stay resident with the resolver (--watch) and still has CHOREO_RUN_* secret
    variables in that block (settings.secrets_in_block: the secrets themselves, not a _FILE
    setting's path) re-executes itself with an environment without them, handing them over
    through an inherited pipe; the new process (this same call, with HANDOVER_VARIABLE set) reads
    them back into os.environ (process memory, not the block) and closes the pipe. Returns in the
    process that goes on; never returns in the one that re-executes.
    """
    handover = os.environ.pop(HANDOVER_VARIABLE, None)
    if handover is not None:
        _receive(handover)
        return
    secrets = secrets_in_block(os.environ)  # a _FILE setting's path stays: the secret is not in the block
    if not secrets:
        return
    import sys

    payload = b"".join(os.fsencode(name) + b"=" + os.fsencode(value) + b"\0" for name, value in secrets.items())
    if len(payload) > _PIPE_CAPACITY:
        raise ConfigurationError(
            "the CHOREO_RUN_* secret variables are too large to hand over "
            f"({len(payload)} bytes); use their _FILE forms"
        )
    read_end, write_end = os.pipe()
    try:
        view = memoryview(payload)
        while view:
            view = view[os.write(write_end, view) :]
    finally:
        os.close(write_end)
    os.set_inheritable(read_end, True)
    environment = {name: value for name, value in os.environ.items() if name not in secrets}
    environment[HANDOVER_VARIABLE] = str(read_end)
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    command = [sys.executable, "-c", _BOOT, package_parent, *argv]
    if getattr(sys, "frozen", False):  # a bundle (bundle/build): its binary is the command itself
        command = [sys.executable, *argv]
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    try:
        os.execve(sys.executable, command, environment)
    except OSError:
        os.close(read_end)  # cannot re-exec: go on as we are (the secrets stay in the block)


def _receive(handover: str) -> None:
    try:
        descriptor = int(handover)
        chunks = []
        while chunk := os.read(descriptor, 65536):
            chunks.append(chunk)
        os.close(descriptor)
    except (ValueError, OSError) as error:
        raise ConfigurationError(
            f"{HANDOVER_VARIABLE}={handover}: cannot read the handed-over secrets: "
            f"{getattr(error, 'strerror', None) or 'not a descriptor'}"
        ) from None
    for entry in b"".join(chunks).split(b"\0"):
        if entry:
            name, _, value = entry.partition(b"=")
            os.environ[os.fsdecode(name)] = os.fsdecode(value)


def read_dotenv(path: str, environ: Mapping[str, str] = os.environ) -> dict[str, str | None]:
    """python-dotenv's dotenv_values(path), but `${NAME}` never expands a CHOREO_RUN_* variable.

    dotenv_values interpolates against os.environ, which holds the launcher's own secrets
    (CHOREO_RUN_TOKEN...): `X=${CHOREO_RUN_TOKEN}` in an --env-file would copy the token into the
    service. Here interpolation sees the environment without CHOREO_RUN_* (such a reference expands
    to "", as an unset variable does), then the file's own earlier values, as python-dotenv does.
    """
    import io

    from dotenv import dotenv_values
    from dotenv.parser import parse_stream
    from dotenv.variables import parse_variables

    try:  # a regular UTF-8 file without NUL bytes (no variable can hold one), read once, bounded
        text = read_small_text(path, MAX_ENV_FILE_BYTES)
    except FileRefused as refused:
        raise ConfigurationError(f"{path}: env file: {refused.reason}") from None
    # python-dotenv skips a line it cannot parse (logging a warning): a value would silently go missing.
    bad = [binding.original.line for binding in parse_stream(io.StringIO(text)) if binding.error]
    if bad:
        lines = ", ".join(str(line) for line in bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise ConfigurationError(f"{path}: env file: cannot parse line {lines} (expected NAME=value)")
    visible = {name: value for name, value in environ.items() if not name.startswith("CHOREO_RUN_")}
    resolved: dict[str, str | None] = {}
    for name, raw in dotenv_values(stream=io.StringIO(text), interpolate=False).items():
        if raw is None:
            resolved[name] = None
            continue
        scope = {**visible, **resolved}
        resolved[name] = "".join(atom.resolve(scope) for atom in parse_variables(raw))
    return resolved
