"""The embedded default backend: a local store file (docs/store.md).

It holds every project, so besides what the component may use it can name the owner of what it
may not, which lets the resolver refuse a cross-boundary reference with a precise reason. The
visibility rules themselves are `launcher.backends.local.view`, shared with etcd.
"""

from __future__ import annotations

import os

from launcher.backends.base import Backend, BackendSettings
from launcher.backends.local.store_file import Store, parse_store
from launcher.backends.local.view import store_snapshot
from launcher.backends.url import FILE, BackendURL, parse_backend_url
from launcher.documents.yamlfile import describe_file, load_yaml_file
from launcher.errors import ConfigurationError
from launcher.files.stamps import stamp
from launcher.model import Identity, Snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from launcher.backends.writer import StoreTarget


def store_path(url: BackendURL) -> str:
    """The file a `file:` URL names: `file://PATH`, `file:PATH` or a bare PATH; `~` expanded."""
    return os.path.expanduser(url.rest)


class LocalStore(Backend):
    """A store file, parsed again only when it changed; the one writable file backend."""

    writable = True

    def __init__(self, path: str) -> None:
        self.path = path
        self.description = f"{FILE}:{describe_file(path)}"
        self._store: Store | None = None
        self._stamp: tuple[int, ...] | None = None

    @classmethod
    def from_url(cls, url: BackendURL, settings: BackendSettings) -> LocalStore:
        return cls(store_path(url))

    def load(self) -> Store:
        """The parsed store; parsed again only when the file changed (--watch fetches repeatedly)."""
        current = stamp(self.path)
        if self._store is None or current != self._stamp:
            shown = describe_file(self.path)
            data = load_yaml_file(self.path, ConfigurationError, ConfigurationError)
            self._store, self._stamp = parse_store(data, shown), current
        return self._store

    def fetch(self, identity: Identity) -> Snapshot:
        store = self.load()
        snapshot = store_snapshot(store, identity, self.description)
        return snapshot.replace(warnings=snapshot.warnings + _permission_warnings(self.path, store))

    def watched_paths(self) -> list[str]:
        """What --watch stamps to notice a change."""
        return [self.path]

    def guess_identity(self, directory_name: str) -> tuple[str | None, str | None]:
        """The store's only project, and its component named like the directory (or its only one)."""
        projects = list(self.load().projects.values())
        if len(projects) != 1:
            return None, None
        components = list(projects[0].components)
        if directory_name in components:
            return projects[0].name, directory_name
        return projects[0].name, components[0] if len(components) == 1 else None

    def store_target(self) -> StoreTarget:
        from launcher.backends.writer import FileStoreTarget

        return FileStoreTarget(self.path)


def open_local(url: str, settings: BackendSettings) -> LocalStore:
    return LocalStore.from_url(parse_backend_url(url), settings)


def _permission_warnings(path: str, store: Store) -> tuple[str, ...]:
    """A store holding secret values should be readable by its owner only."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return ()
    if mode & 0o077 and holds_secrets(store) and not store.example_values:
        return (
            f"{store.file}: holds secret values and is readable by other users (mode {mode & 0o777:o}); "
            f"run chmod 600 {store.file}",
        )
    return ()


def holds_secrets(store: Store) -> bool:
    """Whether the store holds a secret of any kind: a secret connection parameter, an OAuth
    application's client secret, a secret config form value or a secret config group value."""
    groups = [store.config_groups, *(project.config_groups for project in store.projects.values())]
    parameters = [
        *(p for c in store.all_connections() for p in c.parameters.values()),
        *(p for g in groups for group in g.values() for p in group.values()),
        *(
            p
            for project in store.projects.values()
            for component in project.components.values()
            for per_environment in component.config_form.values()
            for p in per_environment.values()
        ),
    ]
    apps = [app for project in store.projects.values() for app in project.oauth_apps.values()]
    return any(p.secret for p in parameters) or any(
        values.get("clientSecret") for app in apps for values in app.environments.values()
    )
