"""`choreo-run store`: move a local store file into etcd and back, and set up per-component roles.

The key and role layouts are those of docs/backends/etcd.md; everything here goes through
`EtcdBackend`/`EtcdSession`, so the same failover, deadline and error rules apply.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from launcher.backends import BackendSettings, parse_backend_url, refuse_read_only
from launcher.backends.etcd import layout
from launcher.backends.etcd.backend import (
    SCHEMES,
    URL_FORM,
    EtcdBackend,
    EtcdSession,
    PulledStore,
    PushResult,
    prefix_end,
    prefix_range,
)
from launcher.backends.local.document import refuse_unknown_keys
from launcher.backends.local.store_file import parse_store
from launcher.documents.yamlfile import describe_file, load_yaml_file
from launcher.errors import ConfigurationError, ProblemCollector

ROOT = "root"


def open_store(url: str, settings: BackendSettings) -> EtcdBackend:
    parsed = parse_backend_url(url)
    if parsed.scheme not in SCHEMES:
        raise ConfigurationError(f"{parsed.shown!r}: expected an {URL_FORM} URL")
    return EtcdBackend.from_url(parsed, settings)


UNKNOWN_IN_PUSH = "etcd cannot hold a key the store does not know, so nothing was pushed: correct or remove it"


def push_file(path: str, url: str, settings: BackendSettings, expected_revision: int | None = None) -> PushResult:
    """Validate the store file as `run` would, then make etcd hold exactly it.

    etcd's layout holds only what the store model knows: a key it does not (a `paramters:` typo and
    its values) would vanish in the push, so the push is refused, naming each one (exit 78)."""
    refuse_read_only(url)  # `store push http://...` is a misuse (exit 64), not a malformed etcd URL
    document = load_yaml_file(path, ConfigurationError, ConfigurationError)  # as LocalStore.load reads it
    store = parse_store(document, describe_file(path))
    refuse_unknown_keys(document, describe_file(path), UNKNOWN_IN_PUSH)
    return open_store(url, settings).push(store, expected_revision)


def pull_text(url: str, settings: BackendSettings) -> tuple[str, PulledStore]:
    """The store YAML etcd holds, headed with where and at which revision it was read."""
    backend = open_store(url, settings)
    pulled = backend.pull()
    header = (
        f"# Pulled from {backend.description} at revision {pulled.revision}.\n"
        f"# To push changes only if nobody else did meanwhile: --expect-revision {pulled.revision}\n"
    )
    return header + yaml.safe_dump(pulled.document, sort_keys=False, allow_unicode=True), pulled


# ---------------------------------------------------------------- roles and users


@dataclass(frozen=True)
class ComponentAccess:
    """The role (and user of the same name) that lets one component read what it may use."""

    component: str
    role: str
    prefixes: tuple[str, ...]
    password: str | None = None  # set only when this run created or reset the user's password

    def __repr__(self) -> str:
        return f"ComponentAccess({self.component!r}, role={self.role!r})"


def create_roles(
    url: str,
    settings: BackendSettings,
    project: str,
    *,
    users: bool = False,
    reset_passwords: bool = False,
    enable_auth: bool = False,
    on_password: Callable[[ComponentAccess], None] | None = None,
) -> list[ComponentAccess]:
    """One read-only role per component of `project` (created or completed), optionally its user.

    `on_password` is called with each user as soon as its password is set (created, or reset), so
    the caller keeps it (the `--users-file`) before the next change: a later failure loses none.

    A role or user of the same name that already holds anything this scope does not grant (another
    scope's ranges, a write permission, another role) is never adopted: the whole run is refused,
    naming both scopes, before anything is changed (ConfigurationError, exit 78).
    """
    backend = open_store(url, settings)
    prefix = backend.target.prefix
    with backend.session() as session:
        components = _components(session, prefix, project, backend.description)
        existing_roles = set(session.call("/v3/auth/role/list", {}, "listing roles").get("roles", []))
        existing_users = set(session.call("/v3/auth/user/list", {}, "listing users").get("users", []))
        problems = ProblemCollector(backend.description)
        plans = [
            _plan_role(
                session, prefix, project, component, existing_roles, existing_users if users else set(), problems
            )
            for component in components
        ]
        problems.raise_if_any(ConfigurationError)
        granted = []
        for access, held in plans:
            _complete_role(session, access, held, access.role in existing_roles)
            if users:
                access = _ensure_user(session, access, existing_users, reset_passwords)
                if access.password and on_password is not None:
                    on_password(access)
            granted.append(access)
        if enable_auth:
            _enable_auth(session, settings, existing_users, existing_roles)
    return granted


def _components(session: EtcdSession, prefix: str, project: str, description: str) -> list[str]:
    shared = layout.component_prefixes(prefix, project, "-").shared
    found, _ = session.range_prefix(shared)
    try:
        document = json.loads(found[f"{shared}{layout.PROJECT_DOC}"])
    except KeyError:
        raise ConfigurationError(f"{description}: project {project!r} not found; push the store first") from None
    except ValueError:
        raise ConfigurationError(f"{description}: {shared}{layout.PROJECT_DOC}: expected a JSON document") from None
    return [str(name) for name in document.get("components", [])]


def _plan_role(
    session: EtcdSession,
    prefix: str,
    project: str,
    component: str,
    roles: set[str],
    users: set[str],
    problems: ProblemCollector,
) -> tuple[ComponentAccess, list[dict[str, Any]]]:
    """The role this component needs and the permissions its namesake already holds (read, not changed)."""
    role = layout.role_name(prefix, project, component)
    access = ComponentAccess(component, role, layout.component_prefixes(prefix, project, component).all())
    ours = layout.describe_scope(prefix, project, component)
    held: list[dict[str, Any]] = []
    if role in roles:
        held = session.call("/v3/auth/role/get", {"role": role}, f"reading role {role}").get("perm", [])
        wanted = [prefix_range(item) for item in access.prefixes]
        foreign = [perm for perm in held if _as_read_range(perm) not in wanted]
        if foreign:
            problems.add(
                f"role {role}",
                f"already exists with grants of {_describe_grants(foreign, (prefix, project, component))}, "
                f"not of this scope ({ours}); "
                "not adopted: delete or rename that role first (nothing was changed)",
            )
    if role in users:
        others = [
            name
            for name in session.call("/v3/auth/user/get", {"name": role}, f"reading user {role}").get("roles", [])
            if name != role
        ]
        if others:
            problems.add(
                f"user {role}",
                f"already exists holding role(s) {', '.join(map(repr, others))} "
                f"({'; '.join(_describe_role(name) for name in others)}), not only this scope's ({ours}); "
                "not adopted: delete that user first (nothing was changed)",
            )
    return access, held


def _as_read_range(perm: dict[str, Any]) -> dict[str, Any] | None:
    """A held permission as `prefix_range` writes it, when it is a read permission; None otherwise."""
    if perm.get("permType", "READ") != "READ":
        return None
    return {"key": perm.get("key"), "range_end": perm.get("range_end")}


def _describe_grants(perms: list[dict[str, Any]], own: tuple[str, str, str]) -> str:
    """Whose grants a role holds: the other component scopes they make up, other ranges, write access."""
    held = []
    for perm in perms:
        key, end = _raw(perm.get("key")), _raw(perm.get("range_end"))
        shown = key.decode("utf-8", "backslashreplace")
        is_prefix = bool(key) and end == prefix_end(key)
        scope = layout.scope_of_range(shown) if is_prefix else None
        held.append((shown, is_prefix, scope, str(perm.get("permType", "READ"))))
    components = {scope for _, _, scope, _ in held if scope is not None and scope[2] is not None}
    projects = {(store, project) for store, project, _ in components}
    described = [f"another scope ({layout.describe_scope(*scope)})" for scope in sorted(components) if scope != own]
    for shown, is_prefix, scope, kind in held:
        # A component scope's shared and org ranges go without saying once the scope is named.
        folded = (scope is not None and scope[:2] in projects) or (
            is_prefix and shown.endswith("/org/") and any(store == shown[:-5] for store, _ in projects)
        )
        if not folded and (scope is None or scope[2] is None):
            described.append(f"range {shown!r}" + ("" if is_prefix else " (not a prefix)"))
        if kind != "READ":
            described.append(f"{kind} access to {shown!r}")
    return ", ".join(dict.fromkeys(described))


def _describe_role(name: str) -> str:
    scope = layout.parse_role_name(name)
    return layout.describe_scope(*scope) if scope is not None else "not a choreo-run role"


def _raw(text: Any) -> bytes:
    try:
        return base64.b64decode(str(text or ""))
    except ValueError:
        return b""


def _complete_role(session: EtcdSession, access: ComponentAccess, held: list[dict[str, Any]], exists: bool) -> None:
    """Create the role if missing and grant what it lacks; `_plan_role` made sure it holds nothing else."""
    if not exists:
        session.call("/v3/auth/role/add", {"name": access.role}, f"creating role {access.role}")
    have = [_as_read_range(perm) for perm in held]
    for wanted_range in (prefix_range(item) for item in access.prefixes):
        if wanted_range not in have:
            session.call(
                "/v3/auth/role/grant",
                {"name": access.role, "perm": {"permType": "READ", **wanted_range}},
                f"granting to {access.role}",
            )


def _ensure_user(
    session: EtcdSession, access: ComponentAccess, existing: set[str], reset_password: bool
) -> ComponentAccess:
    password: str | None = secrets.token_urlsafe(24)
    if access.role not in existing:
        session.call("/v3/auth/user/add", {"name": access.role, "password": password}, f"creating user {access.role}")
    elif reset_password:
        session.call(
            "/v3/auth/user/changepw",
            {"name": access.role, "password": password},
            f"resetting the password of {access.role}",
        )
    else:
        password = None
    session.call("/v3/auth/user/grant", {"user": access.role, "role": access.role}, f"granting {access.role}")
    return ComponentAccess(access.component, access.role, access.prefixes, password)


def _enable_auth(session: EtcdSession, settings: BackendSettings, users: set[str], roles: set[str]) -> None:
    """etcd refuses to enable auth without a `root` user holding the `root` role."""
    if settings.username != ROOT or not settings.password:
        raise ConfigurationError("enabling auth needs CHOREO_RUN_ETCD_USER=root and the root password to set")
    if ROOT not in users:
        session.call("/v3/auth/user/add", {"name": ROOT, "password": settings.password}, "creating user root")
    if ROOT not in roles:
        session.call("/v3/auth/role/add", {"name": ROOT}, "creating role root")
    session.call("/v3/auth/user/grant", {"user": ROOT, "role": ROOT}, "granting root")
    session.call("/v3/auth/enable", {}, "enabling authentication")
