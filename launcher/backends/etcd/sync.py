"""`choreo-run store`: move a local store file into etcd and back, and set up per-component roles.

The key and role layouts are those of docs/backends/etcd.md; everything here goes through
`EtcdBackend`/`EtcdSession`, so the same failover, deadline and error rules apply.
"""

from __future__ import annotations

import json
import secrets
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
    prefix_range,
)
from launcher.backends.local.backend import LocalStore
from launcher.errors import ConfigurationError

ROOT = "root"


def open_store(url: str, settings: BackendSettings) -> EtcdBackend:
    parsed = parse_backend_url(url)
    if parsed.scheme not in SCHEMES:
        raise ConfigurationError(f"{parsed.shown!r}: expected an {URL_FORM} URL")
    return EtcdBackend.from_url(parsed, settings)


def push_file(path: str, url: str, settings: BackendSettings, expected_revision: int | None = None) -> PushResult:
    """Validate the store file as `run` would, then make etcd hold exactly it."""
    refuse_read_only(url)  # `store push http://...` is a misuse (exit 64), not a malformed etcd URL
    return open_store(url, settings).push(LocalStore(path).load(), expected_revision)


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
) -> list[ComponentAccess]:
    """One read-only role per component of `project` (created or corrected), optionally its user."""
    backend = open_store(url, settings)
    prefix = backend.target.prefix
    with backend.session() as session:
        components = _components(session, prefix, project, backend.description)
        existing_roles = set(session.call("/v3/auth/role/list", {}, "listing roles").get("roles", []))
        existing_users = set(session.call("/v3/auth/user/list", {}, "listing users").get("users", []))
        granted = []
        for component in components:
            access = _ensure_role(session, prefix, project, component, existing_roles)
            if users:
                access = _ensure_user(session, access, existing_users, reset_passwords)
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


def _ensure_role(
    session: EtcdSession, prefix: str, project: str, component: str, existing: set[str]
) -> ComponentAccess:
    role = layout.role_name(prefix, project, component)
    wanted = layout.component_prefixes(prefix, project, component).all()
    if role not in existing:
        session.call("/v3/auth/role/add", {"name": role}, f"creating role {role}")
        held: list[dict[str, Any]] = []
    else:
        held = session.call("/v3/auth/role/get", {"role": role}, f"reading role {role}").get("perm", [])
    wanted_ranges = [prefix_range(item) for item in wanted]
    for perm in held:  # whatever else the role holds would widen what the component can read
        if {"key": perm.get("key"), "range_end": perm.get("range_end")} not in wanted_ranges or perm.get(
            "permType", "READ"
        ) != "READ":
            session.call(
                "/v3/auth/role/revoke",
                {"role": role, "key": perm.get("key"), "range_end": perm.get("range_end")},
                f"revoking from {role}",
            )
    for wanted_range in wanted_ranges:
        session.call(
            "/v3/auth/role/grant", {"name": role, "perm": {"permType": "READ", **wanted_range}}, f"granting to {role}"
        )
    return ComponentAccess(component, role, wanted)


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


def credentials_text(granted: list[ComponentAccess]) -> str:
    """The new credentials, as the environment each component's launcher needs."""
    blocks = [
        f"# component {access.component}\nCHOREO_RUN_ETCD_USER={access.role}\n"
        f"CHOREO_RUN_ETCD_PASSWORD={access.password}\n"
        for access in granted
        if access.password
    ]
    return "\n".join(blocks)
