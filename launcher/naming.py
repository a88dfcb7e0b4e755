"""Naming rules: Choreo's default variable names, valid variable names, valid connection names."""

from __future__ import annotations

import re

#: The launcher's own settings. launcher.launch.environment keeps a copy (the fast path avoids `re`).
LAUNCHER_PREFIX = "CHOREO_RUN_"
_NON_ALNUM_RUN = re.compile(r"[^A-Za-z0-9]+")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Choreo: 3 to 50 characters, letters and digits, with single `_`, `-`, `.` or space delimiters.
_CONNECTION_NAME = re.compile(r"[A-Za-z0-9]+(?:[ _.\-][A-Za-z0-9]+)*")


def default_variable(connection_name: str, key: str) -> str:
    """CHOREO_ + upper(name, each run of non-alphanumerics as `_`) + `_` + upper(key).

    `hr-connection` + `ServiceURL` gives CHOREO_HR_CONNECTION_SERVICEURL; camelCase is not split.
    """
    return f"CHOREO_{_variable_part(connection_name)}_{_variable_part(key)}"


_PARTS: dict[str, str] = {}  # name or key -> its part of a variable name: a launch may make thousands


def _variable_part(text: str) -> str:
    part = _PARTS.get(text)
    if part is None:
        part = _NON_ALNUM_RUN.sub("_", text).upper()
        if len(_PARTS) < 4096:
            _PARTS[text] = part
    return part


def is_valid_variable(name: str) -> bool:
    return bool(_VARIABLE.fullmatch(name))


def connection_name_problem(name: str) -> str | None:
    """Why `name` is not a valid Choreo connection name, or None when it is."""
    if not 3 <= len(name) <= 50:
        return f"expected 3 to 50 characters, got {len(name)}"
    if not _CONNECTION_NAME.fullmatch(name):
        return "expected letters and digits separated by single '_', '-', '.' or space"
    return None


def reserved_variable_problem(name: str) -> str | None:
    """Why a manifest, a store or an env file may not set `name`, or None.

    CHOREO_RUN_* are the launcher's own settings (backend, token, identity): a connection named
    `run` would otherwise produce CHOREO_RUN_... variables and steer a launcher the service starts.
    """
    if name.startswith(LAUNCHER_PREFIX):
        return (
            f"variable {name} is reserved: names starting with {LAUNCHER_PREFIX} are choreo-run's own "
            "settings and cannot be set by a manifest, a store or an env file"
        )
    return None


# Variables that change how the service's runtime finds or loads code, so whoever writes one runs
# code as the user: the dynamic loader (glibc's and macOS's), shells (sourced files, traced
# prompts, the command search path and word splitting), and the interpreters' own "load this too"
# settings. Compiled from ld.so(8), bash(1), dash(1), python(1), node(1), perl(1), ruby(1), java(1),
# the .NET and PHP documentation; the same idea as Doppler's warning on reserved names and as the
# lists of dangerous variables CI runners refuse. Exact names: variable names are case-sensitive,
# and a prefix such as `LD_` would refuse unrelated settings (LaunchDarkly's `LD_SDK_KEY`).
DANGEROUS_VARIABLES = frozenset(
    {
        # dynamic loader
        "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "LD_ORIGIN_PATH", "LD_PROFILE", "GCONV_PATH",
        "DYLD_INSERT_LIBRARIES", "DYLD_LIBRARY_PATH", "DYLD_FRAMEWORK_PATH", "DYLD_FALLBACK_LIBRARY_PATH",
        # shells and the command search path
        "BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4", "IFS", "CDPATH", "PROMPT_COMMAND", "PATH",
        # Python
        "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME", "PYTHONUSERBASE", "PYTHONBREAKPOINT", "PYTHONINSPECT",
        # Node.js
        "NODE_OPTIONS", "NODE_PATH",
        # Perl
        "PERL5OPT", "PERL5LIB", "PERLLIB", "PERL5DB",
        # Ruby
        "RUBYOPT", "RUBYLIB",
        # the JVM
        "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH",
        # .NET, PHP
        "DOTNET_STARTUP_HOOKS", "CORECLR_PROFILER_PATH", "PHPRC", "PHP_INI_SCAN_DIR",
    }
)  # fmt: skip
ALLOW_VARIABLE_OPTION = "--allow-variable"


def dangerous_variable_problem(name: str, allowed: frozenset[str] | tuple[str, ...] = ()) -> str | None:
    """Why a manifest, a store or an env file may not set `name` unless the user allowed it, or None.

    These change which code the service runs (LD_PRELOAD, PYTHONPATH, NODE_OPTIONS, PATH, ...): a
    store writer or a cloned repository could otherwise run code of their choosing as the user.
    """
    if name in DANGEROUS_VARIABLES and name not in allowed:
        return (
            f"variable {name} changes how the service's runtime loads code and is refused "
            f"(allow it with {ALLOW_VARIABLE_OPTION} {name})"
        )
    return None
