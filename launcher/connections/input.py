"""Parameter values for `choreo-run connection create|update|rotate`, without secrets on the command line.

The command line is visible to every user of the host (`ps`, /proc/PID/cmdline), so:

* `--param KEY=VALUE` takes non-secret values only; a key that is secret (by name, like `Password`,
  or because the stored parameter is) is refused there.
* `--secret KEY` names a secret parameter; its value comes from `--param-file` if the file has KEY,
  else from an interactive prompt without echo (stdin is a terminal), else from one line of stdin
  (one line per `--secret`, in the order given).
* `--param-file FILE` (`-` for stdin) is YAML: `KEY: value`, or `KEY: {value | values: {env: v},
  secret: true}` as in the store file. Keys secret by name are secret there too.

Values without `--env` apply to every environment; with `--env E` (repeatable), to those only.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from launcher.backends.local.store_file import ALL_ENVIRONMENTS
from launcher.connections.operations import ParameterUpdate
from launcher.documents.shape import key_segment, scalar_text
from launcher.documents.yamlfile import load_yaml_file, parse_yaml_bytes
from launcher.errors import UsageError
from launcher.keys import is_secret_by_default

STDIN = "-"
# Asks the terminal for a secret without echo: the label in, the value out. The CLI owns the terminal
# (launcher.cli.connection passes a click prompt); without one, a secret is read from stdin.
Prompt = Callable[[str], str]


def parameter_updates(
    pairs: tuple[str, ...],
    secret_keys: tuple[str, ...],
    param_file: str | None,
    environments: tuple[str, ...],
    *,
    prompt: Prompt | None = None,
) -> tuple[ParameterUpdate, ...]:
    """Every value given, each source checked; a key given twice is refused."""
    from_file = read_param_file(param_file, environments) if param_file else {}
    # --secret KEY with KEY in the file: the file's value, marked secret
    updates = [
        *(_plain(pair, environments) for pair in pairs),
        *(update.replace(secret=update.secret or key in secret_keys) for key, update in from_file.items()),
    ]
    updates += [_secret(key, environments, param_file, prompt) for key in secret_keys if key not in from_file]
    seen = [update.key for update in updates]
    repeated = sorted({key for key in seen if seen.count(key) > 1})
    if repeated:
        raise UsageError(f"parameter {', '.join(repeated)} given more than once")
    return tuple(updates)


def _spread(value: str, environments: tuple[str, ...]) -> dict[str, str]:
    return {env: value for env in environments} if environments else {ALL_ENVIRONMENTS: value}


def _plain(pair: str, environments: tuple[str, ...]) -> ParameterUpdate:
    key, equals, value = pair.partition("=")
    key = key.strip()  # ` Password=x` and `Password =x` name Password too
    if not equals or not key:
        # Never echo what may be a value: `--param s3cr3t` (no `=`) may be the secret itself.
        raise UsageError(f"--param expects KEY=VALUE, got {'no `=`' if not equals else 'an empty KEY'}")
    if is_secret_by_default(key):
        shown = key_segment(key)  # the name, or a description when it does not look like one
        raise UsageError(
            f"{shown} is a secret parameter: give it with --secret {shown} (stdin or a prompt) or "
            "--param-file, never on the command line"
        )
    return ParameterUpdate(key, _spread(value, environments), False, plain=True)


def secret_value(key: str, param_file: str | None = None, *, prompt: Prompt | None = None) -> str:
    """A secret's value: from the terminal without echo (through `prompt`), else one line of stdin."""
    if "=" in key:
        raise UsageError(
            "--secret takes a parameter name only; the value is read from stdin, a prompt or "
            "--param-file (never from the command line)"
        )
    if param_file == STDIN:
        raise UsageError(f"no value for secret {key} in the parameter file read from stdin")
    if prompt is not None and sys.stdin.isatty():
        value = prompt(f"{key} (input hidden)")
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise UsageError(f"no value for secret {key} (expected one line on stdin, or a prompt)")
    return value


def _secret(key: str, environments: tuple[str, ...], param_file: str | None, prompt: Prompt | None) -> ParameterUpdate:
    return ParameterUpdate(key, _spread(secret_value(key, param_file, prompt=prompt), environments), True)


def read_param_file(path: str, environments: tuple[str, ...]) -> dict[str, ParameterUpdate]:
    if path == STDIN:
        data = parse_yaml_bytes(sys.stdin.buffer.read(), "<stdin>", UsageError)
    else:
        data = load_yaml_file(path, UsageError, UsageError)
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping of parameter names to values")
    return {str(key): _file_update(str(key), raw, environments, path) for key, raw in data.items()}


def _file_update(key: str, raw: Any, environments: tuple[str, ...], path: str) -> ParameterUpdate:
    if not isinstance(raw, dict):
        return ParameterUpdate(key, _spread(_text(raw, key, path), environments), is_secret_by_default(key))
    values = _spread(_text(raw["value"], key, path), environments) if "value" in raw else {}
    per_environment = raw.get("values") or {}
    if not isinstance(per_environment, dict):
        raise UsageError(f"{path}: {key_segment(key)}.values: expected a mapping of environment to value")
    values.update({str(env): _text(value, key, path) for env, value in per_environment.items()})
    if not values:
        raise UsageError(f"{path}: {key_segment(key)}: expected `value` or `values`")
    return ParameterUpdate(key, values, raw.get("secret", is_secret_by_default(key)) is True)


def _text(raw: Any, key: str, path: str) -> str:
    text = scalar_text(raw)
    if text is not None:
        return text
    raise UsageError(f"{path}: {key_segment(key)}: expected a string, number or boolean")
