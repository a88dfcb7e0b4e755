"""`choreo-run [OPTIONS] -- CMD`: resolve, write files, then exec or supervise the service.

No click here: the launch command's argv is parsed by launcher.cli.argv when it can be (the
`run` command of launcher.cli.commands, click's, calls the same `launch` otherwise).
"""

from __future__ import annotations

import os

from launcher.cli.common import Settings, debug, settings_from, state, warn
from launcher.cli.options import RUN
from launcher.errors import UsageError

TYPE_CHECKING = False  # `typing` stays off the launch path (docs/performance.md, issue 16)
if TYPE_CHECKING:
    from typing import Any


def launch(command: tuple[str, ...], options: dict[str, Any]) -> None:
    """Resolve, then run COMMAND with the connections injected; consumes `options`."""
    if not command or not command[0]:
        raise UsageError("expected a command to run, e.g. choreo-run -- python app.py")
    # Every launch option of the table but where files go and who wins: those two shape the environment.
    supervision = {key: options.pop(key) for key in RUN if key not in ("mount_root", "no_override")}
    mount_root, override = options.pop("mount_root"), not options.pop("no_override")
    if supervision["watch"]:  # resident with the resolver: its secrets out of /proc/PID/environ
        from launcher.credentials import hold_secrets_privately

        hold_secrets_privately(state["argv"])
    settings = settings_from(options)
    mode = _mode(supervision)  # decided before any work: a usage error costs nothing
    from launcher.files import parsecache

    parsecache.enable(os.environ)  # the manifest and store parsed by the last launch, if unchanged
    from launcher.resolve.pipeline import local_inputs, plan_and_backend

    inputs = local_inputs(settings)
    from launcher.files.stamps import stamp_inputs

    stamps = stamp_inputs(inputs) if inputs is not None else None
    plan, backend = plan_and_backend(settings, warn, debug)
    from launcher.launch.decision import Launch
    from launcher.launch.mounts import write_files

    written = write_files(plan.files, settings.component_dir, mount_root)
    for path in written:
        debug(f"wrote {path}")
    masked = tuple(a.variable for a in plan.assignments if a.secret) if supervision["mask_output"] else ()
    launch = Launch(
        list(command),
        mode,
        [(a.variable, a.value) for a in plan.assignments],
        masked_names=masked,
        override=override,
        mount_root=mount_root,
        files=[(path, f.content, 0o600 if f.secret else 0o644) for path, f in zip(written, plan.files, strict=True)],
        warnings=list(state["warnings"]),
        quiet=state["quiet"],
    )
    if stamps is not None and not state["debug"]:
        _record(stamps, launch, settings.env_files)
    reloader = _reloader(settings, backend, plan, supervision, mount_root, override) if supervision["watch"] else None
    from launcher.launch.start import start

    start(
        launch,
        os.environ,
        supervision=_supervise_options(supervision, masked) if mode != "exec" else None,
        reloader=reloader,
        holds_credentials=settings.holds_credentials(),
        warn=warn,
        debug=debug,
    )


def _mode(supervision: dict[str, Any]) -> str:
    """exec or supervise, from the flags, CHOREO_RUN_MODE and whether we are PID 1 (launcher.launch.modes)."""
    from launcher.launch.modes import default_mode

    resident = [flag for flag in ("mask_output", "watch") if supervision[flag]]
    if resident and supervision["supervise"] is False:
        raise UsageError(f"--{resident[0].replace('_', '-')} needs supervise mode: the launcher must stay resident")
    chosen = True if resident else supervision["supervise"]
    return {True: "supervise", False: "exec", None: None}[chosen] or default_mode()


def _supervise_options(supervision: dict[str, Any], masked: tuple[str, ...]) -> Any:
    from launcher.launch.sigstate import parse_rewrite, parse_signal
    from launcher.launch.supervise import SuperviseOptions

    return SuperviseOptions(
        forward_to_group=supervision["signal_group"],
        stop_signal=parse_signal(supervision["stop_signal"]),
        rewrites=dict(parse_rewrite(rule) for rule in supervision["rewrite_signal"]),
        grace_period=supervision["grace_period"],
        keep_descendants=supervision["keep_descendants"],
        mask_variables=masked,
        reload_signal=parse_signal(supervision["reload_signal"]) if supervision["reload_signal"] else None,
    )


def _reloader(
    settings: Settings, backend: Any, plan: Any, supervision: dict[str, Any], mount_root: str | None, override: bool
) -> Any:
    from launcher.launch.watch import Reloader, WatchOptions, default_env_file

    env_file = supervision["reload_env_file"] or (
        default_env_file(os.environ) if supervision["reload_signal"] else None
    )
    options = WatchOptions(
        interval=supervision["watch_interval"],
        env_file=env_file,
        mount_root=mount_root,
        override=override,
        base_environment=dict(os.environ),
    )
    return Reloader(settings, backend, plan, options, warn, debug)


def _fastpath():  # type: ignore[no-untyped-def]
    from launcher.launch import fastpath

    return fastpath


def _record(stamps: list, launch: Any, env_files: tuple[str, ...]) -> None:
    """Let the next identical launch skip resolution (launcher.launch.fastpath); never fails the launch."""
    try:
        from launcher.resolve.pipeline import interpolated_names

        path = _fastpath().record_launch(state["argv"], stamps, launch, interpolated_names(env_files))
    except OSError as error:
        debug(f"no fast-path record: {error.strerror}")
        return
    if path:
        debug(f"recorded this launch for the fast path in {path}")
