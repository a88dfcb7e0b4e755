"""Scope isolation in etcd, attacked (docs/security.md, class 1), against real members.

Role and user names used to be prefix, project and component joined with `.`, and `.` is legal in
each: two scopes could get the same role, and `store roles` would re-grant it to the second, so one
component's credentials read another project's secrets. Each test here builds the scopes that used
to collide, or plants the role an attacker (or an old deployment) would leave, and checks that etcd
itself keeps them apart and that `store roles` refuses to adopt what is not its scope's.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from launcher.backends import BackendSettings, open_backend
from launcher.backends.etcd import layout
from launcher.backends.etcd.backend import prefix_range
from launcher.backends.etcd.sync import create_roles
from launcher.backends.local.store_file import Store, parse_store
from launcher.errors import AccessDenied, ConfigurationError
from launcher.model import Identity
from support.etcd_cluster import (
    ETCD_ALLOW_NO_AUTH,
    ROOT_PASSWORD,
    Cluster,
    gateway,
    token_for,
    unique_prefix,
)
from support.process import DUMP_ENV, EXAMPLE, run_launcher

ROOT = BackendSettings(username="root", password=ROOT_PASSWORD, timeout=1.0, deadline=5.0)
ROOT_ENV = {"CHOREO_RUN_ETCD_USER": "root", "CHOREO_RUN_ETCD_PASSWORD": ROOT_PASSWORD}


def old_role_name(prefix: str, project: str, component: str) -> str:
    """How role (and user) names were made before: the attack's premise."""
    return f"{prefix.strip('/').replace('/', '.') or 'choreo-run'}.{project}.{component}"


def scopes_store(*scopes: tuple[str, str, str]) -> Store:
    """One project per (project, component, secret): the component's own database password."""
    return parse_store(
        {
            "version": 1,
            "projects": [
                {
                    "name": project,
                    "components": [{"name": component}],
                    "connections": [
                        {
                            "id": f"db-{secret}",
                            "name": "the-db",
                            "type": "database",
                            "visibility": "component",
                            "component": component,
                            "parameters": {"HostName": "db.internal", "Password": secret},
                        }
                    ],
                }
                for project, component, secret in scopes
            ],
        },
        "generated",
    )


def as_user(cluster: Cluster, prefix: str, user: str, password: str | None):
    return open_backend(cluster.url(prefix), BackendSettings(username=user, password=password, timeout=1, deadline=5))


def secrets_of(backend, identity: Identity) -> set[str]:
    return {p.value for c in backend.fetch(identity).connections for p in c.parameters.values() if p.secret}


def role_perms(cluster: Cluster, role: str) -> list[dict]:
    token = token_for(cluster.members[0], "root", ROOT_PASSWORD)
    answer = gateway(cluster.members[0], "/v3/auth/role/get", {"role": role}, token)
    answer.raise_for_status()
    return answer.json().get("perm", [])


def as_root(cluster: Cluster, path: str, body: dict) -> dict:
    answer = gateway(cluster.members[0], path, body, token_for(cluster.members[0], "root", ROOT_PASSWORD))
    assert answer.status_code == 200, answer.text
    return answer.json()


def plant_role(cluster: Cluster, role: str, prefixes: tuple[str, ...], perm_type: str = "READ") -> None:
    """A role as an old `store roles` (or someone else) left it: `role` granted `prefixes`."""
    as_root(cluster, "/v3/auth/role/add", {"name": role})
    for item in prefixes:
        as_root(cluster, "/v3/auth/role/grant", {"name": role, "perm": {"permType": perm_type, **prefix_range(item)}})


# ---------------------------------------------------------------- scopes that used to share a role


def test_a_dot_in_a_project_or_component_no_longer_merges_two_scopes(etcd_auth: Cluster) -> None:
    """Project `a.b` component `c` and project `a` component `b.c` were both role `<prefix>.a.b.c`."""
    prefix = unique_prefix()
    assert old_role_name(prefix, "a.b", "c") == old_role_name(prefix, "a", "b.c")  # the collision
    open_backend(etcd_auth.url(prefix), ROOT).push(scopes_store(("a.b", "c", "secret-of-ab-c"), ("a", "b.c", "s-a-bc")))
    (first,) = create_roles(etcd_auth.url(prefix), ROOT, "a.b", users=True)
    (second,) = create_roles(etcd_auth.url(prefix), ROOT, "a", users=True)
    assert first.role != second.role
    assert (first.role, second.role) == (f"{prefix}.a%2Eb.c", f"{prefix}.a.b%2Ec")
    assert first.password and second.password  # a user each: the second run created its own, adopted nothing

    one = as_user(etcd_auth, prefix, first.role, first.password)
    two = as_user(etcd_auth, prefix, second.role, second.password)
    assert secrets_of(one, Identity("a.b", "c")) == {"secret-of-ab-c"}
    assert secrets_of(two, Identity("a", "b.c")) == {"s-a-bc"}
    with pytest.raises(AccessDenied, match="permission denied"):
        one.fetch(Identity("a", "b.c"))
    with pytest.raises(AccessDenied, match="permission denied"):
        two.fetch(Identity("a.b", "c"))
    # etcd itself refuses the other scope's keys: not the launcher's good manners.
    token = token_for(etcd_auth.members[0], first.role, first.password)
    other = layout.component_prefixes(f"/{prefix}", "a", "b.c").component
    assert gateway(etcd_auth.members[0], "/v3/kv/range", prefix_range(other), token).status_code == 403


def test_a_dot_in_the_prefix_no_longer_merges_two_stores(etcd_auth: Cluster) -> None:
    """Prefix `x.y` + project `p` and prefix `x` + project `y.p` were both role `x.y.p.c`."""
    x = unique_prefix()
    assert old_role_name(f"{x}.y", "p", "c") == old_role_name(x, "y.p", "c")  # the collision
    open_backend(etcd_auth.url(f"{x}.y"), ROOT).push(scopes_store(("p", "c", "secret-of-xy")))
    open_backend(etcd_auth.url(x), ROOT).push(scopes_store(("y.p", "c", "secret-of-x")))
    (dotted,) = create_roles(etcd_auth.url(f"{x}.y"), ROOT, "p", users=True)
    (plain,) = create_roles(etcd_auth.url(x), ROOT, "y.p", users=True)
    assert (dotted.role, plain.role) == (f"{x}%2Ey.p.c", f"{x}.y%2Ep.c")

    assert secrets_of(as_user(etcd_auth, f"{x}.y", dotted.role, dotted.password), Identity("p", "c")) == {
        "secret-of-xy"
    }
    with pytest.raises(AccessDenied):
        as_user(etcd_auth, x, dotted.role, dotted.password).fetch(Identity("y.p", "c"))
    with pytest.raises(AccessDenied):
        as_user(etcd_auth, f"{x}.y", plain.role, plain.password).fetch(Identity("p", "c"))


# ---------------------------------------------------------------- store roles never adopts a foreign role


def test_store_roles_refuses_a_role_holding_another_scopes_grants(etcd_auth: Cluster, tmp_path: Path) -> None:
    """An old deployment's role for (/U, y.p, c) is named `U.y.p.c`: today's name of (/U/y, p, c)."""
    u = unique_prefix()
    victim = layout.component_prefixes(f"/{u}", "y.p", "c").all()
    planted = layout.role_name(f"/{u}/y", "p", "c")
    assert planted == old_role_name(f"/{u}", "y.p", "c") == f"{u}.y.p.c"
    plant_role(etcd_auth, planted, victim)
    before = role_perms(etcd_auth, planted)
    open_backend(etcd_auth.url(f"{u}/y"), ROOT).push(scopes_store(("p", "c", "theirs")))
    users_file = tmp_path / "users.env"

    result = run_launcher(
        ["store", "roles", etcd_auth.url(f"{u}/y"), "--project", "p", "--users-file", str(users_file)], env=ROOT_ENV
    )
    assert result.returncode == 78, result.stderr
    (line,) = result.stderr.strip().splitlines()  # one line, naming both scopes
    assert f"role {planted}" in line
    assert f"prefix '/{u}', project 'y.p', component 'c'" in line  # whose grants it holds
    assert f"prefix '/{u}/y', project 'p', component 'c'" in line  # the scope that wanted it
    assert role_perms(etcd_auth, planted) == before  # nothing revoked, nothing granted
    assert planted not in as_root(etcd_auth, "/v3/auth/user/list", {}).get("users", [])
    assert not users_file.exists()


def test_store_roles_refuses_a_user_holding_another_role(etcd_auth: Cluster) -> None:
    prefix = unique_prefix()
    open_backend(etcd_auth.url(prefix), ROOT).push(scopes_store(("p", "c", "pw-c")))
    name = layout.role_name(f"/{prefix}", "p", "c")
    as_root(etcd_auth, "/v3/auth/role/add", {"name": f"{prefix}-other"})
    as_root(etcd_auth, "/v3/auth/user/add", {"name": name, "password": "someone-elses"})
    as_root(etcd_auth, "/v3/auth/user/grant", {"user": name, "role": f"{prefix}-other"})
    with pytest.raises(ConfigurationError, match=f"user {name}: already exists holding role.*{prefix}-other"):
        create_roles(etcd_auth.url(prefix), ROOT, "p", users=True)
    assert name not in as_root(etcd_auth, "/v3/auth/role/list", {}).get("roles", [])  # refused before any change


def test_store_roles_refuses_a_role_that_may_write(etcd_auth: Cluster) -> None:
    prefix = unique_prefix()
    open_backend(etcd_auth.url(prefix), ROOT).push(scopes_store(("p", "c", "pw-c")))
    role = layout.role_name(f"/{prefix}", "p", "c")
    own = layout.component_prefixes(f"/{prefix}", "p", "c")
    plant_role(etcd_auth, role, (own.component,), "READWRITE")
    with pytest.raises(
        ConfigurationError,
        match=r"grants of READWRITE access to '/t-[0-9a-f]+/projects/p/components/c/', not of this scope",
    ):
        create_roles(etcd_auth.url(prefix), ROOT, "p")


def test_store_roles_completes_its_own_partial_role(etcd_auth: Cluster) -> None:
    """A role holding some of its scope's grants (an interrupted run, `etcdctl role add`) is its own."""
    prefix = unique_prefix()
    open_backend(etcd_auth.url(prefix), ROOT).push(scopes_store(("p", "c", "pw-c")))
    own = layout.component_prefixes(f"/{prefix}", "p", "c")
    plant_role(etcd_auth, layout.role_name(f"/{prefix}", "p", "c"), (own.org,))
    (access,) = create_roles(etcd_auth.url(prefix), ROOT, "p", users=True)
    assert len(role_perms(etcd_auth, access.role)) == 3
    assert secrets_of(as_user(etcd_auth, prefix, access.role, access.password), Identity("p", "c")) == {"pw-c"}


# ---------------------------------------------------------------- a cluster without auth enforces nothing


@pytest.mark.parametrize("user", [None, "orders-service"], ids=["anonymous", "with-credentials"])
def test_a_member_without_auth_is_refused_unless_asked_for(etcd_single: Cluster, user: str | None) -> None:
    prefix = unique_prefix()
    etcd_single.backend(prefix, etcd_allow_no_auth=True).push(scopes_store(("p", "c", "pw-open")))
    refused = etcd_single.backend(prefix, username=user, password="irrelevant" if user else None)
    with pytest.raises(ConfigurationError, match="has authentication disabled") as raised:
        refused.fetch(Identity("p", "c"))
    assert "--etcd-allow-no-auth" in str(raised.value) and "pw-open" not in str(raised.value)
    allowed = etcd_single.backend(prefix, username=user, etcd_allow_no_auth=True)
    assert secrets_of(allowed, Identity("p", "c")) == {"pw-open"}


def test_the_launcher_refuses_a_member_without_auth_and_the_opt_in_works(etcd_single: Cluster, tmp_path) -> None:
    url = etcd_single.url(unique_prefix())
    assert run_launcher(["store", "push", "--store", str(EXAMPLE / "connections.yaml"), url]).returncode == 0
    launch = ["-C", str(EXAMPLE), "-p", "bookstore", "-c", "orders-service", "--mount-root", str(tmp_path)]

    refused = run_launcher([*launch, "--backend", url, "--", *DUMP_ENV])
    assert refused.returncode == 78, refused.stderr
    (line,) = refused.stderr.strip().splitlines()
    assert "authentication disabled" in line and "CHOREO_RUN_ETCD_ALLOW_NO_AUTH" in line
    assert refused.stdout == ""  # the service never started

    flagged = run_launcher([*launch, "--backend", url, "--etcd-allow-no-auth", "--", *DUMP_ENV]).env()
    from_variable = run_launcher([*launch, "--backend", url, "--", *DUMP_ENV], env=ETCD_ALLOW_NO_AUTH).env()
    assert flagged["CHOREO_ORDERS_DB_HOSTNAME"] == from_variable["CHOREO_ORDERS_DB_HOSTNAME"]
    assert not [name for name in from_variable if name.startswith("CHOREO_RUN_")]
