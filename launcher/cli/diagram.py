"""`choreo-run diagram DIR...`: the project's architecture, from the manifests and the store (docs/diagram.md)."""

from __future__ import annotations

import time
from typing import Any

import click

from launcher.cli.common import debug, settings_from, warn
from launcher.cli.decorators import click_attrs, use
from launcher.cli.options import OPTIONS, PIPELINE

# The launch options that say how the store is reached. The others (one component, its manifest file,
# .env overlays, the last-known-good cache) mean nothing for a whole project: `settings_from` gets
# their defaults.
DIAGRAM_OPTIONS = (
    "backend",
    "project",
    "env",
    "token_file",
    "ca_file",
    "timeout",
    "deadline",
    "etcd_allow_no_auth",
    "debug",
    "quiet",
)


def _unset(names: tuple[str, ...]) -> dict[str, Any]:
    """What `settings_from` expects for the launch options `diagram` does not take: their defaults."""
    values: dict[str, Any] = {}
    for name in names:
        option = click.Option(OPTIONS[name].decls, **click_attrs(OPTIONS[name]))
        if option.expose_value and option.name:
            default = option.default if option.default is not None else (False if option.is_flag else None)
            values[option.name] = () if option.multiple else default
    return values


@click.command("diagram")
@use(*DIAGRAM_OPTIONS, "diagram_format", "diagram_output")
@click.argument("directories", nargs=-1, type=click.Path(file_okay=False, exists=True))
def diagram_command(directories: tuple[str, ...], output_format: str, output: str | None, **options: Any) -> None:
    """Draw the project: components, the connections between them and to services and databases.

    Each DIRECTORY is a component (named after the directory), read as `check DIR...` reads it
    [default: the current directory]. The store is --backend, else each directory's connections.yaml.
    No value is read into the output: names, Connection IDs, visibility and resourceRefs only.
    """
    from launcher.diagram.build import build_diagram, render
    from launcher.errors import OutputError
    from launcher.files.atomic import atomic_write
    from launcher.resolve.identity import DEFAULT_ENVIRONMENT

    settings = settings_from({**options, **_unset(tuple(n for n in PIPELINE if n not in DIAGRAM_OPTIONS))})
    started = time.perf_counter()
    diagram = build_diagram(
        list(directories or (".",)),
        list(settings.backends),
        settings.project,
        settings.environment or DEFAULT_ENVIRONMENT,
        settings.backend_settings,
        warn,
    )
    analysed = time.perf_counter()
    text = render(diagram, output_format)
    debug(
        f"analysed {len(diagram.components)} components and {len(diagram.connections)} connections in "
        f"{(analysed - started) * 1000:.1f} ms; rendered {output_format} in "
        f"{(time.perf_counter() - analysed) * 1000:.1f} ms"
    )
    for problem in diagram.problems():
        warn(f"{problem.source[2:]}: {problem.name}: {problem.note}")
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        from launcher.files.private import resolve_link

        atomic_write(resolve_link(output), text.encode("utf-8"), mode=0o644)
    except OSError as error:
        raise OutputError(f"{output}: cannot write: {error.strerror}") from None
    click.echo(
        f"wrote {output} ({output_format}): {len(diagram.components)} components, "
        f"{len(diagram.connections)} connections, {len(diagram.problems())} broken references",
        err=True,
    )
