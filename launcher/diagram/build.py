"""From directories and backends to a diagram: the I/O of `choreo-run diagram` and `connection show`.

Reads the manifests, opens the backends (with `--backend`, or each directory's own connections.yaml,
layered), reads an inventory (no values), and runs the one analysis.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from launcher.backends import Backend, BackendSettings, open_backend
from launcher.diagram.analysis import ComponentSource, ProjectDiagram, analyze
from launcher.diagram.components import read_component
from launcher.diagram.inventory import Inventory, read_inventory
from launcher.errors import ConfigurationError
from launcher.resolve.pipeline import DEFAULT_STORE_NAMES

FORMATS = ("html", "svg", "mermaid", "dot")


def default_backends(directories: list[str]) -> list[str]:
    """Without --backend: each directory's own store (connections.yaml or .choreo/connections.yaml),
    each file once, layered in the order of the directories."""
    found: dict[str, str] = {}
    for directory in directories:
        for name in DEFAULT_STORE_NAMES:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                found.setdefault(os.path.realpath(candidate), candidate)
                break
    if not found:
        raise ConfigurationError(
            "no backend given and no connections.yaml in the given directories: pass --backend URL "
            "(or set CHOREO_RUN_BACKEND)"
        )
    return list(found.values())


def open_stack(urls: list[str], settings: BackendSettings) -> Backend:
    layers = [open_backend(url, settings) for url in urls]
    if len(layers) == 1:
        return layers[0]
    from launcher.backends.layered import LayeredBackend

    return LayeredBackend(layers)


def build_diagram(
    directories: list[str],
    backends: list[str],
    project: str | None,
    environment: str,
    settings: BackendSettings,
    warn: Callable[[str], None],
) -> ProjectDiagram:
    sources = read_components(directories)
    backend = open_stack(backends or default_backends(directories), settings)
    try:
        inventory, warnings = read_inventory(backend, project, [s.name for s in sources], environment)
    finally:
        backend.close()
    for warning in warnings:
        warn(warning)
    return analyze(inventory, sources)


def read_components(directories: list[str]) -> list[ComponentSource]:
    """One source per directory; two directories with the same name would be one component: refused."""
    sources = [read_component(directory) for directory in directories]
    seen: dict[str, str] = {}
    for source in sources:
        if source.name in seen and seen[source.name] != source.directory:
            raise ConfigurationError(
                f"{source.directory} and {seen[source.name]} are both component {source.name!r} "
                "(a component is named after its directory)"
            )
        seen[source.name] = source.directory or ""
    return list({s.name: s for s in sources}.values())


def diagram_for_store(inventory: Inventory, directories: list[str]) -> ProjectDiagram:
    """`connection show`: the store is already read; the directories say who uses what."""
    return analyze(inventory, read_components(directories))


def render(diagram: ProjectDiagram, output_format: str) -> str:
    if output_format == "mermaid":
        from launcher.diagram.text import render_mermaid

        return render_mermaid(diagram)
    if output_format == "dot":
        from launcher.diagram.text import render_dot

        return render_dot(diagram)
    from launcher.diagram.layout import lay_out

    layout = lay_out(diagram, heading=output_format == "svg")
    if output_format == "svg":
        from launcher.diagram.svg import render_svg

        return render_svg(diagram, layout) + "\n"
    from launcher.diagram.html import render_html

    return render_html(diagram, layout)
