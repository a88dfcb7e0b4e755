"""Finding a connection key the way a user meant it.

Real manifests write `host`, `serviceUrl` or `password` where the platform's keys are `HostName`,
`ServiceURL` and `Password`. An exact match wins; otherwise a case-insensitive match or a known
alias is accepted, and the caller warns about the guess.
"""

from __future__ import annotations

from typing import TypeVar

V = TypeVar("V")

ALIASES = {
    "host": "HostName", "hostname": "HostName", "port": "Port", "user": "Username", "username": "Username",
    "password": "Password", "database": "DatabaseName", "databasename": "DatabaseName", "dbname": "DatabaseName",
    "url": "ServiceURL", "serviceurl": "ServiceURL", "clientid": "ConsumerKey", "consumerkey": "ConsumerKey",
    "clientsecret": "ConsumerSecret", "consumersecret": "ConsumerSecret", "tokenurl": "TokenURL",
    "apikey": "ChoreoAPIKey", "choreoapikey": "ChoreoAPIKey",
}


def lookup_key(available: dict[str, V], key: str) -> tuple[str, bool] | None:
    """(the key as stored, whether it was guessed), or None when nothing matches."""
    if key in available:
        return key, False
    folded = {name.lower(): name for name in available}
    plain = key.lower().replace("_", "").replace("-", "")
    for candidate in (key.lower(), plain, ALIASES.get(plain, "").lower()):
        if candidate in folded:
            return folded[candidate], True
    return None
