"""The options of launcher.cli.options as click options: `@use("ca_file", "timeout")`, `@pipeline_options`.

The table itself is data without click (the launch command is parsed from it without importing click,
launcher.cli.argv); this module is where its entries become click.option decorators.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from launcher.cli.options import OPTIONS, PIPELINE, ChoiceType, IntRangeType, Option, PathType, SecondsType


class _Seconds(click.ParamType):
    """click's float, then SecondsType's rule."""

    name = "seconds"

    def __init__(self, kind: SecondsType) -> None:
        self.kind = kind

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        number = float(click.FLOAT.convert(value, param, ctx))
        if problem := self.kind.problem(number):
            self.fail(problem, param, ctx)
        return number


def click_type(kind: Any) -> Any:
    """The click type of an option's `type`: the table's own kinds made click's, others as they are."""
    if isinstance(kind, SecondsType):
        return _Seconds(kind)
    if isinstance(kind, PathType):
        return click.Path(file_okay=kind.file_okay, dir_okay=kind.dir_okay, allow_dash=kind.allow_dash)
    if isinstance(kind, ChoiceType):
        return click.Choice(kind.choices)
    if isinstance(kind, IntRangeType):
        return click.IntRange(kind.low, kind.high)
    return kind


def click_attrs(spec: Option) -> dict[str, Any]:
    """click.option's keyword arguments for one entry of the table."""
    if "type" not in spec.attrs:
        return spec.attrs
    return {**spec.attrs, "type": click_type(spec.attrs["type"])}


def use(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator adding the named options, in this order in --help."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        for name in reversed(names):
            spec = OPTIONS[name]
            function = click.option(*spec.decls, **click_attrs(spec))(function)
        return function

    return decorate


def pipeline_options(*args: Any) -> Any:
    """The options of the launch pipeline (launcher.cli.options.PIPELINE), for run, check, plan and export.

    `@pipeline_options` adds them; `@pipeline_options("mount_root", ...)` adds them and then the named
    options of launcher.cli.options.OPTIONS.
    """
    if len(args) == 1 and callable(args[0]):
        return use(*PIPELINE)(args[0])
    return use(*PIPELINE, *args)
