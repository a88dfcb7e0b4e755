"""Which OAuth application a new connection uses, creating it when first needed (docs/connections.md).

The rules (docs/architecture.md, "The domain, in brief"): a project has one shared application,
and every project connection under OAuth uses it. A component connection under OAuth shares its component's application,
`<component>-oauth`, unless it asks for a dedicated one or names an application explicitly.
Client IDs and secrets are generated with `secrets.token_urlsafe`, per environment.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from launcher.backends.local.store_file import StoredConnection, StoredOAuthApp, StoredProject
from launcher.errors import ConfigurationError, UsageError
from launcher.model import PROJECT
from launcher.records import Record
from launcher.visibility import may_use_app

DEFAULT_ENVIRONMENTS = ("development", "production")  # Choreo's two default environments
CLIENT_ID_BYTES = 21  # 28 characters, like the consumer keys Choreo shows
CLIENT_SECRET_BYTES = 32


class OAuthRequest(Record):
    app_id: str | None = None  # use this existing application
    dedicated: bool = False  # a component connection with an application of its own
    token_url: str | None = None  # for environments the application has no credentials for yet
    environments: tuple[str, ...] = ()  # the environments the connection needs credentials in


def shared_app(project: StoredProject) -> StoredOAuthApp | None:
    return next((app for app in project.oauth_apps.values() if app.component is None), None)


def connections_using(project: StoredProject, app_id: str) -> list[StoredConnection]:
    return [c for c in project.connections if c.oauth_app == app_id]


def attach_oauth_app(
    project: StoredProject,
    name: str,
    visibility: str,
    component: str | None,
    parameter_environments: tuple[str, ...],
    request: OAuthRequest,
    token: Callable[[int], str],
) -> tuple[StoredProject, str, bool]:
    """The project with the application the connection uses (created or completed); its ID; created?"""
    app = _chosen_app(project, name, visibility, component, request)
    created = app.app_id not in project.oauth_apps
    environments = request.environments or parameter_environments or tuple(app.environments) or DEFAULT_ENVIRONMENTS
    app = _with_environments(app, environments, request.token_url, token)
    return project.replace(oauth_apps={**project.oauth_apps, app.app_id: app}), app.app_id, created


def _chosen_app(
    project: StoredProject, name: str, visibility: str, component: str | None, request: OAuthRequest
) -> StoredOAuthApp:
    if request.app_id:
        return _explicit_app(project, request.app_id, visibility, component)
    if visibility == PROJECT:
        return shared_app(project) or _new_app(project, f"{project.name}-shared", None)
    if request.dedicated:
        return _new_app(project, f"{component}-{_slug(name)}-oauth", component)
    default_id = f"{component}-oauth"
    return project.oauth_apps.get(default_id) or _new_app(project, default_id, component)


def _explicit_app(project: StoredProject, app_id: str, visibility: str, component: str | None) -> StoredOAuthApp:
    app = project.oauth_apps.get(app_id)
    if app is None:
        known = ", ".join(sorted(project.oauth_apps)) or "none"
        raise ConfigurationError(
            f"project {project.name!r} has no OAuth application {app_id!r} (applications: {known})"
        )
    if may_use_app(app.component, visibility, component):
        return app
    if visibility == PROJECT:
        raise UsageError(
            f"a project connection uses the project's shared application, not {app_id!r} "
            f"(owned by component {app.component!r})"
        )
    raise UsageError(f"OAuth application {app_id!r} belongs to component {app.component!r}")


def _new_app(project: StoredProject, wanted_id: str, component: str | None) -> StoredOAuthApp:
    """IDs are readable (for `rotate --oauth-app`); a taken one gets a numeric suffix."""
    app_id, suffix = wanted_id, 2
    while app_id in project.oauth_apps:
        app_id, suffix = f"{wanted_id}-{suffix}", suffix + 1
    return StoredOAuthApp(app_id, project.name, component, {})


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _with_environments(
    app: StoredOAuthApp, environments: tuple[str, ...], token_url: str | None, token: Callable[[int], str]
) -> StoredOAuthApp:
    missing = [env for env in environments if env not in app.environments]
    if missing and not token_url:
        raise UsageError(
            f"OAuth application {app.app_id!r} has no credentials for {', '.join(missing)} yet: "
            "give --token-url (the token endpoint of the identity provider)"
        )
    added = {
        env: {
            "clientId": token(CLIENT_ID_BYTES),
            "clientSecret": token(CLIENT_SECRET_BYTES),
            "tokenUrl": str(token_url),
        }
        for env in missing
    }
    return app.replace(environments={**app.environments, **added})


def rotate_client_secret(
    project: StoredProject, app_id: str, environments: tuple[str, ...], token: Callable[[int], str]
) -> tuple[StoredProject, tuple[str, ...]]:
    """A new client secret (client ID unchanged) for the given environments, or every one."""
    app = project.oauth_apps.get(app_id)
    if app is None:
        raise ConfigurationError(f"project {project.name!r} has no OAuth application {app_id!r}")
    unknown = [env for env in environments if env not in app.environments]
    if unknown:
        raise UsageError(
            f"OAuth application {app_id!r} has no environment {', '.join(unknown)} "
            f"(it has: {', '.join(app.environments) or 'none'})"
        )
    rotated = environments or tuple(app.environments)
    fresh = {
        env: {**values, "clientSecret": token(CLIENT_SECRET_BYTES)} if env in rotated else values
        for env, values in app.environments.items()
    }
    app = app.replace(environments=fresh)
    return project.replace(oauth_apps={**project.oauth_apps, app_id: app}), rotated
