"""Choreo's own grammar for manifest values, rule by rule as its validator writes it.

The validator is the GitHub Action `choreo-source-config-validator` (schemas.js) that Choreo's build
runs over `.choreo/` files. Each regular expression here is its JavaScript one translated exactly:
JavaScript's `\\d` is ASCII digits, its `\\s` the ECMAScript white space set, its `.` anything but a
line terminator, and `^...$` the whole string. docs/manifests.md, "Conformance", lists every rule with
what choreo-run does with it; tests/integration/test_conformance.py and test_differential.py hold the
two to each other.
"""

from __future__ import annotations

import re

_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_JS_DOT = "[^\n\r\u2028\u2029]"
_HANDLE = "[a-zA-Z0-9_-]+"
# re.sub(f"[{_JS_SPACE}]", "", text) as a translation table (no regular expression to compile).
_JS_SPACE_DELETE = dict.fromkeys(
    [ord(c) for c in "\t\n\v\f\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff"] + list(range(0x2000, 0x200B))
)

SERVICE_REF_FORMAT = (
    "[service:][/<project-handle>/]<component-handle>/<major-version>[/<endpoint-handle>][/<network-visibility>]"
)
# Kept as text and matched with re.fullmatch (re compiles each on first use and caches it): a
# launch compiles only the grammars its manifest uses (docs/performance.md, issue 16).
_SERVICE_REF = (
    rf"(?:service:)?(?:/{_HANDLE}/)?{_HANDLE}/[vV]?[0-9]+(?:\.[0-9]+)*"
    rf"(?:/{_HANDLE})?(?:/(?:PUBLIC|PROJECT|ORGANIZATION))?"
)
_THIRDPARTY_REF = rf"thirdparty:[a-zA-Z0-9{_JS_SPACE}_.-]+/[vV][0-9]+(?:\.[0-9]+)*"
_DATABASE_REF = rf"database:(?:{_HANDLE}/)?{_HANDLE}"
_STORAGE_REF = rf"storage:[a-zA-Z0-9{_JS_SPACE}_.-]+"
_CHOREO_SERVICE_NAME = (
    rf"choreo:///{_HANDLE}/{_HANDLE}/{_HANDLE}/{_HANDLE}/v[0-9]+(?:\.[0-9]+)?/(?:PUBLIC|PROJECT|ORGANIZATION)"
)

_THIRDPARTY_HELP = (
    "use the format thirdparty:<service_name>/<version> (letters, digits, spaces, '.', '_' and '-' in the name)"
)
_DATABASE_HELP = "use the format database:[<serverName>/]<databaseName> (letters, digits, '_' and '-')"
_STORAGE_HELP = "use the format storage:<service_name> (letters, digits, spaces, '.', '_' and '-')"


_RESOURCE_REF_GRAMMARS = (  # (prefix, pattern, help): built once, a manifest may hold a thousand references
    ("service:", _SERVICE_REF, f"use the format {SERVICE_REF_FORMAT}"),
    ("thirdparty:", _THIRDPARTY_REF, _THIRDPARTY_HELP),
    ("database:", _DATABASE_REF, _DATABASE_HELP),
    ("storage:", _STORAGE_REF, _STORAGE_HELP),
)


def resource_ref_problem(ref: str) -> str | None:
    """Why `ref` is not a connectionReferences[].resourceRef Choreo accepts, or None.

    schemas.js `validateResourceRef`: the prefix picks the grammar; `service:` is optional, so a
    reference with no known prefix must be a service reference.
    """
    for prefix, pattern, help_text in _RESOURCE_REF_GRAMMARS:
        if ref.startswith(prefix):
            return None if re.fullmatch(pattern, ref) else f"invalid {prefix[:-1]} reference {ref!r}: {help_text}"
    if re.fullmatch(_SERVICE_REF, ref):
        return None
    return (
        f"invalid resourceRef {ref!r}: for services use {SERVICE_REF_FORMAT}, for databases "
        "database:[<serverName>/]<databaseName>, for third-party services thirdparty:<service_name>/<version>, "
        "for storage storage:<service_name> (optional parts in brackets)"
    )


def service_name_problem(name: str) -> str | None:
    """Why `name` is not a serviceReferences[].name Choreo accepts (schemas.js `validateServiceName`)."""
    if name.startswith("choreo:///"):
        if re.fullmatch(_CHOREO_SERVICE_NAME, name):
            return None
        return (
            "invalid service identifier: use the format choreo:///<org-handle>/<project-handle>/"
            "<component-handle>/<endpoint-identifier>/<major-version>/<network-visibility>"
        )
    if name.startswith("thirdparty:"):
        return None if re.fullmatch(_THIRDPARTY_REF, name) else f"invalid service identifier: {_THIRDPARTY_HELP}"
    if name.startswith("database:"):
        return None if re.fullmatch(_DATABASE_REF, name) else f"invalid service identifier: {_DATABASE_HELP}"
    return "invalid service identifier: expected choreo:///..., thirdparty:... or database:..."


def _connection_name(space: str, dot: str) -> str:
    """schemas.js connectionReferencesSchema.name, as written (the whitespace around it is allowed)."""
    return rf"[{space}]*(?!{dot}*[^a-zA-Z0-9][^a-zA-Z0-9])[a-zA-Z0-9][a-zA-Z0-9 _\-.]{{1,48}}[a-zA-Z0-9][{space}]*"


_CONNECTION_NAME = _connection_name(_JS_SPACE, _JS_DOT)
# The same rule with the classes' non-ASCII members left out: on ASCII text, where they can match
# nothing, it accepts exactly what the rule accepts, and it compiles in a tenth of the time (the
# Unicode classes cost ~0.9 ms to compile, in every launch whose manifest references a connection).
_CONNECTION_NAME_ASCII = _connection_name("\t\n\v\f\r ", "[^\n\r]")


def connection_name_matches(raw: str) -> bool:
    """Whether the connection name, as written (before stripping), passes the validator's rule."""
    return re.fullmatch(_CONNECTION_NAME_ASCII if raw.isascii() else _CONNECTION_NAME, raw) is not None


# yup's `string().uuid()`: any version, the RFC 4122 variants, and the nil and max UUIDs.
_UUID = re.compile(
    r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    r"|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)",
    re.IGNORECASE,
)


def is_uuid(text: str) -> bool:
    return _UUID.fullmatch(text) is not None


# ---------------------------------------------------------------- endpoints (read for warnings only)

ENDPOINT_TYPES = ("REST", "GraphQL", "GRPC", "TCP", "UDP", "WS")
NETWORK_VISIBILITIES = ("Public", "Project", "Organization")
BASE_PATH_REQUIRED_TYPES = ("REST", "GraphQL", "WS")
PROJECT_ONLY_TYPES = ("GRPC", "TCP", "UDP")
ENDPOINT_NAME = re.compile(r"[a-z][a-z0-9_-]*")
BASE_PATH = re.compile(r"/[a-zA-Z0-9/\-_]*")

# yup's `boolean()` without strict mode reads these as true and false.
_TRUE = re.compile(r"(?:true|1)", re.IGNORECASE)
_FALSE = re.compile(r"(?:false|0)", re.IGNORECASE)


def yup_boolean(value: object) -> bool | None:
    """The boolean yup would read `value` as (true, "True", 1, "0", ...), or None when none."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, str)):
        text = _js_string(value)
        if _TRUE.fullmatch(text):
            return True
        if _FALSE.fullmatch(text):
            return False
    return None


def yup_number(value: object) -> float | None:
    """The number yup's `number()` reads `value` as (strings lose their white space), or None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.translate(_JS_SPACE_DELETE)
        try:
            number = float(text)
        except ValueError:
            return _js_number_literal(text)
        # Python reads `inf`, `nan` and `1_0`; JavaScript's Number() does not.
        if text.isascii() and text.replace(".", "", 1).isdigit():  # digits, at most one point: a decimal
            return number
        return None if not re.fullmatch(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", text) else number
    return None


def _js_number_literal(text: str) -> float | None:
    """`0x1F`, `0b1`, `0o7` (JavaScript's Number() reads them; float() does not)."""
    for prefix, base in (("0x", 16), ("0b", 2), ("0o", 8)):
        if text.lower().startswith(prefix):
            try:
                return float(int(text[2:], base))
            except ValueError:
                return None
    return None


def _js_string(value: int | float | str) -> str:
    """A scalar as JavaScript's String() writes it (1.0 -> "1")."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
