"""Connection keys: Choreo's names and their other spellings, which are secret by default, how a
secret is shown, and finding a key the way a user meant it. The one table for all of these.

Real manifests write `host`, `serviceUrl` or `password` where the platform's keys are `HostName`,
`ServiceURL` and `Password`. An exact match wins; otherwise a case-insensitive match or a known
alias is accepted, and the caller warns about the guess. Service Binding entries (`host`, `uri`,
`client-id`) are renamed to Choreo's keys through the same table.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # `typing` stays off the launch path (docs/performance.md, issue 16)
if TYPE_CHECKING:
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


# The words of a name (see `words`) that make it a credential when they are its last word: the head
# of an English compound is its last word, so `AccessToken` is a token but `TokenURL` is a URL and
# `PASSWORD_FILE` a path. Whole words only: `Passport` is not a password.
_SECRET_WORDS = frozenset(
    {"password", "passwd", "passphrase", "secret", "secrets", "token", "tokens", "credential", "credentials"}
    | {"creds", "apikey", "privatekey"}
)
# `key` is a credential only after one of these (`SecretKey`, `api_key`, `privateKey`); a bare
# `Key`, `ConsumerKey` (an OAuth client ID) or `PublicKey` is not.
_KEY_QUALIFIERS = frozenset({"api", "secret", "private", "signing", "encryption", "master", "access", "ssh", "hmac"})
# camelCase and acronym boundaries (`ChoreoAPIKey` -> Choreo API Key), and runs of digits.
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def words(name: str) -> list[str]:
    """`DB_PASSWORD`, `db-password` and `dbPassword` are the words db, password (lower case);
    `ChoreoAPIKey` is choreo, api, key; `TokenURL` is token, url."""
    return [word.lower() for word in _WORD.findall(name)]


_SECRET_BY_DEFAULT: dict[str, bool] = {}  # key -> the answer: a store repeats a few keys thousands of times


def is_secret_by_default(key: str) -> bool:
    """Keys that name credentials are secret: Password, ConsumerSecret, client_secret, API-Key,
    AccessToken, SecretKey, privateKey, passphrase, credentials... (see _SECRET_WORDS). Not
    `TokenURL`, `Passport`, `PASSWORD_FILE` or `ConsumerKey`. Surrounding blanks do not matter."""
    secret = _SECRET_BY_DEFAULT.get(key)
    if secret is None:
        secret = _is_secret_by_default(key)
        if len(_SECRET_BY_DEFAULT) < 4096:
            _SECRET_BY_DEFAULT[key] = secret
    return secret


def _is_secret_by_default(key: str) -> bool:
    if plain(key.strip()) in SECRET_BY_DEFAULT:
        return True
    found = [word for word in words(key) if not word.isdigit()]  # `Password2` is a password
    if not found:
        return False
    last = found[-1]
    return last in _SECRET_WORDS or (last == "key" and len(found) > 1 and found[-2] in _KEY_QUALIFIERS)


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
