"""Connection keys: Choreo's names and their other spellings, which are secret by default, how a
secret is shown, and finding a key the way a user meant it. The one table for all of these.

Real manifests write `host`, `serviceUrl` or `password` where the platform's keys are `HostName`,
`ServiceURL` and `Password`. An exact match wins; otherwise a case-insensitive match or a known
alias is accepted, and the caller warns about the guess. Service Binding entries (`host`, `uri`,
`client-id`) are renamed to Choreo's keys through the same table.
"""

from __future__ import annotations

from typing import TypeVar

V = TypeVar("V")

# What a secret value shows as wherever values are displayed (plan, connection show, masked output).
MASK = "********"

# Choreo key <- the spellings that mean it, in plain form (see `plain`), preferred first.
SPELLINGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("HostName", ("hostname", "host")),
    ("Port", ("port",)),
    ("Username", ("username", "user")),
    ("Password", ("password",)),
    ("DatabaseName", ("databasename", "database", "dbname")),
    ("ServiceURL", ("serviceurl", "uri", "url")),
    ("ConsumerKey", ("consumerkey", "clientid")),
    ("ConsumerSecret", ("consumersecret", "clientsecret")),
    ("TokenURL", ("tokenurl", "tokenuri")),
    ("ChoreoAPIKey", ("choreoapikey",)),
)
# Read as Choreo's key in a manifest only; a binding's own `api-key` entry keeps its name.
MANIFEST_ALIASES = {"apikey": "ChoreoAPIKey"}
ALIASES = {spelling: key for key, spellings in SPELLINGS for spelling in spellings} | MANIFEST_ALIASES

# The keys an OAuth application supplies (never stored on the connection), and the secret one.
OAUTH_KEYS = ("ConsumerKey", "ConsumerSecret", "TokenURL")
OAUTH_SECRET_KEY = "ConsumerSecret"

# Keys that name credentials (plain form): secret unless a store explicitly says otherwise.
SECRET_BY_DEFAULT = frozenset({"consumersecret", "choreoapikey", "password", "apikey", "clientsecret", "token"})
# Names whose values are never credentials (plain form): a Service Binding entry is secret unless named here.
# A URL is not among them: it may carry user:password@ or a signed query.
NON_SECRET = frozenset(
    {
        spelling
        for key, spellings in SPELLINGS
        if key in ("HostName", "Port", "Username", "DatabaseName", "ConsumerKey", "TokenURL")
        for spelling in spellings
    }
    | {"protocol", "basepath"}
)


def plain(name: str) -> str:
    """`Client-ID`, `client_id` and `clientid` are one name."""
    return name.lower().replace("-", "").replace("_", "")


def is_secret_by_default(key: str) -> bool:
    """Keys that name credentials (Password, ConsumerSecret, client_secret, API-Key...) are secret."""
    return plain(key) in SECRET_BY_DEFAULT


def oauth_keys() -> list[tuple[str, bool]]:
    """The OAuth application's keys, each with whether it is secret."""
    return [(key, key == OAUTH_SECRET_KEY) for key in OAUTH_KEYS]


def lookup_key(available: dict[str, V], key: str) -> tuple[str, bool] | None:
    """(the key as stored, whether it was guessed), or None when nothing matches."""
    if key in available:
        return key, False
    folded = {name.lower(): name for name in available}
    simple = plain(key)
    for candidate in (key.lower(), simple, ALIASES.get(simple, "").lower()):
        if candidate in folded:
            return folded[candidate], True
    return None
