"""The `choreo-run` commands, click's: the group, `run`, `check`, `plan` and `export`.

`choreo-run [OPTIONS] -- CMD ARGS` runs a service; `check`, `plan` and `export` use the same
pipeline without running anything. Every option is defined once, in launcher.cli.options, with its
CHOREO_RUN_* variable (docs/configuration.md, which also lists the few options that have none), so an
image can be configured with ENV lines alone; those variables never reach the service.

launcher.cli.main routes argv here, unless launcher.cli.argv parsed a launch without click.
"""

from __future__ import annotations

from typing import Any

import click

from launcher import __version__
from launcher.cli.common import Settings, build, count, debug, say, settings_from, warn
from launcher.cli.decorators import pipeline_options
from launcher.cli.main import guarded
from launcher.cli.options import RUN
from launcher.cli.run import launch
from launcher.errors import LauncherError, UsageError

# ---------------------------------------------------------------- the group


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="choreo-run")
def cli() -> None:
    """Resolve a component's connections and run the service with them injected.

    \b
      choreo-run [OPTIONS] -- CMD ARGS...    run CMD with the resolved environment
      choreo-run check [OPTIONS] [DIR...]   resolve everything, run nothing (CI preflight)
      choreo-run plan [OPTIONS]             show what would be injected, secrets masked
      choreo-run export [OPTIONS]           write the variables as dotenv, JSON or shell
      choreo-run connection ...             create and manage connections

    Documentation: docs/ in the source tree, starting with README.md.
    """


@cli.command("run", context_settings={"allow_interspersed_args": False})
@pipeline_options(*RUN)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def run(command: tuple[str, ...], **options: Any) -> None:
    """Resolve, then run COMMAND with the connections injected."""
    launch(command, options)


@cli.command()
@pipeline_options
@click.argument("directories", nargs=-1, type=click.Path(file_okay=False))
def check(directories: tuple[str, ...], **options: Any) -> None:
    """Resolve everything and run nothing; exit 0 when the service could start.

    With several component DIRECTORIES (a monorepo), each is checked, its component named after the
    directory unless --component is given; every failure is reported, and the exit code is the first
    failure's.
    """
    settings = settings_from(options)
    if not directories:
        _report_ok(build(settings))
        return
    _check_many(settings, directories)


def _check_many(settings: Settings, directories: tuple[str, ...]) -> None:
    from launcher.resolve.pipeline import build_plan, open_backends

    # One shared backend (parsed once) when given; otherwise each directory's own connections.yaml.
    backend = open_backends(settings) if settings.backends else None
    failures: list[LauncherError] = []
    for directory in directories:
        try:
            _report_ok(build_plan(settings.replace(component_dir=directory), warn, debug, backend))
        except LauncherError as error:
            failures.append(error)
            for warning in error.warnings:
                warn(warning)
            for problem in error.problems:
                say("error", f"{directory}: {problem}" if directory not in str(problem) else str(problem))
    click.echo(
        f"checked {count(len(directories), 'component')}: {len(directories) - len(failures)} ok, {len(failures)} failed"
    )
    if failures:
        raise click.exceptions.Exit(failures[0].exit_code)


def _report_ok(plan: Any) -> None:
    identity = plan.identity
    click.echo(
        f"ok: {identity.project}/{identity.component} ({identity.environment}): "
        f"{count(len(plan.assignments), 'variable')}, {count(len(plan.files), 'file')}"
    )


@cli.command()
@pipeline_options("plan_format", "mount_root")
def plan(output_format: str, mount_root: str | None, **options: Any) -> None:
    """Show each variable with its source and visibility; secret values masked."""
    from launcher.launch.mounts import target_path
    from launcher.resolve.output import plan_json, plan_table

    settings = settings_from(options)
    result = build(settings)
    targets = [target_path(output, settings.component_dir, mount_root) for output in result.files]
    click.echo((plan_table if output_format == "table" else plan_json)(result, targets), nl=False)


@cli.command(name="export")
@pipeline_options("export_format", "export_reveal", "export_output")
def export_command(export_format: str, reveal: bool, output: str | None, **options: Any) -> None:
    """Write the resolved variables; secret values only with --reveal."""
    from launcher.resolve.output import export

    text = export(build(settings_from(options)), export_format, reveal)
    if output is None:
        click.echo(text, nl=False)
    else:
        from launcher.credentials import write_private

        write_private(output, text)


# ---------------------------------------------------------------- invoking click


def invoke(args: list[str]) -> int:
    """Run click on routed argv (launcher.cli.main._route); usage errors as one line, exit code 64."""

    def call() -> int:
        try:
            # Without standalone mode click returns the code of a click.exceptions.Exit instead of raising it.
            code = cli.main(args=args, prog_name="choreo-run", standalone_mode=False)
            return code if isinstance(code, int) else 0
        except click.exceptions.Exit as done:
            return int(done.exit_code)
        except click.Abort:
            return 130
        except click.ClickException as error:
            say("error", f"{error.format_message()} (see choreo-run {args[0]} --help)")
            return UsageError.exit_code

    return guarded(call)
