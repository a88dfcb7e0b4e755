"""Writers never lose data (issue 13, item 6), provoked with real processes and a real etcd member.

* A key the store model does not know (a `paramters:` typo and its values) survives every
  `connection` write to a file, and makes `store push` (and a `connection` write to etcd) refuse,
  leaving the file byte-identical and etcd unchanged.
* A write through a symlinked store (`connection rotate`, `store pull -o`) lands in the target,
  and the link stays a link; a dangling link is refused.
* `store roles --users-file F` merges: a second run keeps every user of the first.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from support.etcd_cluster import ROOT_PASSWORD, Cluster, gateway, token_for, unique_prefix
from support.process import DUMP_ENV, EXAMPLE, run_launcher, write

ROOT_ENV = {"CHOREO_RUN_ETCD_USER": "root", "CHOREO_RUN_ETCD_PASSWORD": ROOT_PASSWORD}
TYPO_VALUE = "typo-value-77"
OLD_PASSWORD = "old-db-password-31"
STORE = f"""
    version: 1
    comment: kept by every writer
    projects:
      - name: shop
        components:
          - name: orders
        connections:
          - id: 01ef7a3f-a581-1088-8322-ac5bc449b1d9
            name: orders-db
            type: database
            visibility: project
            paramters:
              HostName: {TYPO_VALUE}
            parameters:
              HostName: db.internal
              Password: {{secret: true, value: {OLD_PASSWORD}, rotatedBy: ops-team}}
"""
MANIFEST = """
    schemaVersion: 1.2
    dependencies:
      connectionReferences:
      - name: orders-db
        resourceRef: database:orders-db
"""


def connection(store: Path | str, *args: str, stdin: str | None = None, env: dict[str, str] | None = None):
    return run_launcher(["connection", *args, "-p", "shop", "--backend", str(store)], stdin=stdin, env=env)


def launch(directory: Path, store: Path) -> dict[str, str]:
    return run_launcher(
        ["-C", str(directory), "-p", "shop", "-c", "orders", "--backend", str(store), "--", *DUMP_ENV]
    ).env()


# ---------------------------------------------------------------- unknown keys


def test_a_typo_and_its_values_survive_every_connection_write(tmp_path: Path) -> None:
    store = write(tmp_path / "connections.yaml", STORE)
    steps = [
        connection(store, "update", "orders-db", "--param", "HostName=db2.internal"),
        connection(store, "rotate", "orders-db", "Password", "--generate"),
        connection(store, "create", "cache", "--type", "database", "--visibility", "project", "--param", "Port=6379"),
        connection(store, "add-component", "billing"),
    ]
    assert [step.returncode for step in steps] == [0] * len(steps), [step.stderr for step in steps]

    document = yaml.safe_load(store.read_text())
    assert document["comment"] == "kept by every writer"
    (db,) = [c for c in document["projects"][0]["connections"] if c["name"] == "orders-db"]
    assert db["paramters"] == {"HostName": TYPO_VALUE}  # the typo and its value, verbatim
    assert list(db)[:5] == ["id", "name", "type", "visibility", "paramters"]  # in its place
    assert db["parameters"]["HostName"]["value"] == "db2.internal"  # the change itself landed
    assert db["parameters"]["Password"]["rotatedBy"] == "ops-team"  # an unknown key inside a parameter
    assert db["parameters"]["Password"]["value"] not in (OLD_PASSWORD, None)
    assert [c["name"] for c in document["projects"][0]["connections"]] == ["orders-db", "cache"]
    # ...and a launch still warns about the typo, as it did before the writes.
    directory = write(tmp_path / "orders" / ".choreo" / "component.yaml", MANIFEST).parent.parent
    result = run_launcher(["-C", str(directory), "-p", "shop", "-c", "orders", "--backend", str(store), "--", "true"])
    assert result.returncode == 0, result.stderr
    assert "paramters: unknown key" in result.stderr and TYPO_VALUE not in result.stderr


def test_deleting_a_connection_takes_only_its_own_unknown_keys(tmp_path: Path) -> None:
    store = write(tmp_path / "connections.yaml", STORE)
    created = connection(store, "create", "cache", "--type", "database", "--visibility", "project")
    assert created.returncode == 0, created.stderr
    deleted = connection(store, "delete", "orders-db")
    assert deleted.returncode == 0, deleted.stderr
    document = yaml.safe_load(store.read_text())
    assert document["comment"] == "kept by every writer"
    assert [c["name"] for c in document["projects"][0]["connections"]] == ["cache"]


def test_store_push_refuses_a_store_with_an_unknown_key(etcd_auth: Cluster, tmp_path: Path) -> None:
    store = write(tmp_path / "connections.yaml", STORE)
    before = store.read_bytes()
    url = etcd_auth.url(unique_prefix())

    result = run_launcher(["store", "push", url, "--store", str(store)], env=ROOT_ENV)

    assert result.returncode == 78, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3  # one line per unknown key: the top-level one, the typo, the parameter's
    assert any("projects[0].connections[0].paramters: unknown key" in line for line in lines)
    assert all("nothing was pushed" in line for line in lines)
    assert TYPO_VALUE not in result.stderr and OLD_PASSWORD not in result.stderr
    assert store.read_bytes() == before
    pulled = run_launcher(["store", "pull", url], env=ROOT_ENV)
    assert pulled.returncode == 0, pulled.stderr
    assert "orders-db" not in pulled.stdout  # nothing reached etcd


def test_a_connection_write_to_etcd_holding_an_unknown_key_is_refused(etcd_auth: Cluster, tmp_path: Path) -> None:
    prefix = unique_prefix()
    url = etcd_auth.url(prefix)
    clean = write(tmp_path / "clean.yaml", STORE.replace("    comment: kept by every writer\n", ""))
    document = yaml.safe_load(clean.read_text())
    del document["projects"][0]["connections"][0]["paramters"]
    del document["projects"][0]["connections"][0]["parameters"]["Password"]["rotatedBy"]
    clean.write_text(yaml.safe_dump(document))
    assert run_launcher(["store", "push", url, "--store", str(clean)], env=ROOT_ENV).returncode == 0
    # A hand edit (or a newer version) adds a key to the connection's document in etcd.
    member = etcd_auth.members[0]
    token = token_for(member, "root", ROOT_PASSWORD)
    key = f"/{prefix}/projects/shop/shared/connections/01ef7a3f-a581-1088-8322-ac5bc449b1d9"
    answer = gateway(member, "/v3/kv/range", {"key": base64.b64encode(key.encode()).decode()}, token).json()
    doc = json.loads(base64.b64decode(answer["kvs"][0]["value"]))
    doc["paramters"] = {"HostName": TYPO_VALUE}
    put = {"key": base64.b64encode(key.encode()).decode(), "value": base64.b64encode(json.dumps(doc).encode()).decode()}
    revision = int(gateway(member, "/v3/kv/put", put, token).json()["header"]["revision"])

    result = connection(url, "update", "orders-db", "--param", "HostName=db2.internal", env=ROOT_ENV)

    assert result.returncode == 78, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "projects[0].connections[0].paramters: unknown key" in line and "nothing was written" in line
    assert TYPO_VALUE not in line
    after = gateway(member, "/v3/kv/range", {"key": base64.b64encode(b"/").decode()}, token).json()
    assert int(after["header"]["revision"]) == revision  # etcd untouched


# ---------------------------------------------------------------- symlinked stores


def linked_store(tmp_path: Path) -> tuple[Path, Path]:
    """The real store in a secrets directory, and the component's `connections.yaml` linking to it."""
    real = write(tmp_path / "secrets" / "connections.yaml", STORE)
    real.chmod(0o600)
    link = tmp_path / "orders" / "connections.yaml"
    write(link.parent / ".choreo" / "component.yaml", MANIFEST)
    link.symlink_to(os.path.relpath(real, link.parent))
    return real, link


def test_a_rotation_through_a_symlinked_store_updates_the_target(tmp_path: Path) -> None:
    real, link = linked_store(tmp_path)
    result = run_launcher(
        ["connection", "rotate", "orders-db", "Password", "-p", "shop"], cwd=link.parent, stdin="new-pw-5501\n"
    )
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and link.resolve() == real.resolve()  # still a link, to the same file
    assert "new-pw-5501" in real.read_text() and OLD_PASSWORD not in real.read_text()
    assert (real.stat().st_mode & 0o777) == 0o600  # the target keeps its mode
    assert (real.parent / "connections.yaml.lock").exists()  # locked where the data is
    assert not (link.parent / "connections.yaml.lock").exists()
    # Whoever reads the store, by either name, sees the new secret: the old one is no longer live.
    for name in (real, link):
        assert launch(link.parent, name)["CHOREO_ORDERS_DB_PASSWORD"] == "new-pw-5501"


def test_a_dangling_store_link_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "connections.yaml"
    link.symlink_to(tmp_path / "gone" / "connections.yaml")
    result = run_launcher(
        ["connection", "create", "cache", "-p", "shop", "--type", "database", "--visibility", "project"],
        cwd=tmp_path,
    )
    assert result.returncode == 73, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "connections.yaml: a symlink to" in line and "does not exist" in line
    assert link.is_symlink() and not (tmp_path / "gone").exists()
    assert not (tmp_path / ".choreo").exists()  # no other store created beside it


def test_store_pull_output_through_a_symlink_updates_the_target(etcd_auth: Cluster, tmp_path: Path) -> None:
    real, link = linked_store(tmp_path)
    url = etcd_auth.url(unique_prefix())
    pushed = write(tmp_path / "pushed.yaml", "version: 1\nprojects: [{name: shop, components: [{name: billing}]}]\n")
    assert run_launcher(["store", "push", url, "--store", str(pushed)], env=ROOT_ENV).returncode == 0

    result = run_launcher(["store", "pull", url, "-o", str(link)], env=ROOT_ENV)

    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert "billing" in real.read_text()
    assert (real.stat().st_mode & 0o777) == 0o600


# ---------------------------------------------------------------- --users-file


def roles(etcd_auth: Cluster, url: str, project: str, users_file: Path, *extra: str):
    return run_launcher(
        ["store", "roles", url, "--project", project, "--users-file", str(users_file), *extra], env=ROOT_ENV
    )


def users_in(path: Path) -> dict[str, str]:
    """Each user's password, read back as a shell reads each block (sh -c '. block')."""
    found = {}
    for block in path.read_text().split("\n\n"):
        if "CHOREO_RUN_ETCD_USER=" not in block:
            continue
        out = subprocess.run(
            ["sh", "-c", f'{block}\nprintf "%s\\n%s" "$CHOREO_RUN_ETCD_USER" "$CHOREO_RUN_ETCD_PASSWORD"'],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        user, password = out.split("\n")
        found[user] = password
    return found


def authenticates(etcd_auth: Cluster, user: str, password: str) -> bool:
    return gateway(etcd_auth.members[0], "/v3/auth/authenticate", {"name": user, "password": password}).is_success


def test_a_second_store_roles_run_keeps_the_first_runs_users(etcd_auth: Cluster, tmp_path: Path) -> None:
    prefix = unique_prefix()
    url = etcd_auth.url(prefix)
    users_file = tmp_path / "creds" / "users.env"
    two_projects = write(
        tmp_path / "store.yaml",
        """
        version: 1
        projects:
          - name: shop
            components: [{name: orders}, {name: billing}]
          - name: blog
            components: [{name: posts}]
        """,
    )
    assert run_launcher(["store", "push", url, "--store", str(two_projects)], env=ROOT_ENV).returncode == 0

    first = roles(etcd_auth, url, "shop", users_file)
    assert first.returncode == 0, first.stderr
    after_first = users_in(users_file)
    assert len(after_first) == 2
    users_file.write_text(users_file.read_text() + "# a note of mine\n")

    second = roles(etcd_auth, url, "blog", users_file)  # a new project: one more user

    assert second.returncode == 0, second.stderr
    merged = users_in(users_file)
    assert len(merged) == 3
    assert {user: merged[user] for user in after_first} == after_first  # the first run's users, intact
    assert "# a note of mine\n" in users_file.read_text()
    assert all(authenticates(etcd_auth, user, password) for user, password in merged.items())
    assert (users_file.stat().st_mode & 0o777) == 0o600

    # Resetting one project's passwords replaces exactly its entries, in place.
    reset = roles(etcd_auth, url, "shop", users_file, "--reset-passwords")
    assert reset.returncode == 0, reset.stderr
    final = users_in(users_file)
    assert final.keys() == merged.keys()
    assert all(final[user] != merged[user] for user in after_first)
    assert [final[user] for user in merged if user not in after_first] == [
        merged[user] for user in merged if user not in after_first
    ]
    assert all(authenticates(etcd_auth, user, password) for user, password in final.items())


def push_shop_with_orders(url: str, tmp_path: Path) -> None:
    """A store of one project, `shop`, with one component, `orders`, pushed to `url` as root."""
    store = write(tmp_path / "s.yaml", "version: 1\nprojects: [{name: shop, components: [{name: orders}]}]\n")
    assert run_launcher(["store", "push", url, "--store", str(store)], env=ROOT_ENV).returncode == 0


def test_store_roles_keeps_an_older_users_file_and_writes_through_its_link(etcd_auth: Cluster, tmp_path: Path) -> None:
    url = etcd_auth.url(unique_prefix())
    push_shop_with_orders(url, tmp_path)
    # As earlier versions wrote it: unquoted, blocks joined by a blank line.
    older = "# component 'legacy'\nCHOREO_RUN_ETCD_USER=legacy.user\nCHOREO_RUN_ETCD_PASSWORD=legacy-pw-1\n"
    real = write(tmp_path / "private" / "users.env", older)
    real.chmod(0o600)
    (tmp_path / "private").chmod(0o700)
    link = tmp_path / "users.env"
    link.symlink_to(real)

    result = roles(etcd_auth, url, "shop", link)

    assert result.returncode == 0, result.stderr
    assert link.is_symlink()
    text = real.read_text()
    assert text.startswith(older)  # the older entry, byte for byte
    assert set(users_in(real)) == {"legacy.user", next(u for u in users_in(real) if u != "legacy.user")}
    assert len(users_in(real)) == 2


def test_store_roles_refuses_a_file_that_is_not_a_users_file(etcd_auth: Cluster, tmp_path: Path) -> None:
    prefix = unique_prefix()
    url = etcd_auth.url(prefix)
    push_shop_with_orders(url, tmp_path)
    script = write(tmp_path / "deploy.sh", "#!/bin/sh\nexec ./server\n")
    before = script.read_bytes()

    result = roles(etcd_auth, url, "shop", script)

    assert result.returncode == 73, result.stderr
    assert "not a users file" in result.stderr and script.read_bytes() == before
    users = gateway(
        etcd_auth.members[0], "/v3/auth/user/list", {}, token_for(etcd_auth.members[0], "root", ROOT_PASSWORD)
    )
    assert f"{prefix}.shop.orders" not in users.json().get("users", [])  # refused before etcd was changed


@pytest.mark.parametrize("component", ["a\nCHOREO_RUN_ETCD_PASSWORD=injected", "it's $(id)"])
def test_users_file_entries_stay_data_whatever_the_component_name(tmp_path: Path, component: str) -> None:
    """The comment naming a component is one line whatever the name (escaped), so it never becomes an assignment."""
    from launcher.backends.etcd.sync import ComponentAccess
    from launcher.cli.store import users_file_block, users_file_entries

    block = users_file_block(ComponentAccess(component, "choreo.shop.x", (), "pw-1"))
    assert len(block.splitlines()) == 3 and block.splitlines()[0].startswith("# component ")
    assert users_file_entries(block) == [("choreo.shop.x", block)]


@pytest.mark.parametrize("command", ["export", "diagram"])
def test_generated_output_through_a_symlink_is_written_at_its_target(tmp_path: Path, command: str) -> None:
    """`export -o` and `diagram -o` replace generated files, but a link stays a link and its target is written."""
    real = tmp_path / "real"
    real.mkdir()
    (real / "out").write_text("old\n")
    link = tmp_path / "out"
    link.symlink_to(real / "out")
    args = (
        ["export", "-C", str(EXAMPLE), "-o", str(link)]
        if command == "export"
        else ["diagram", "--format", "mermaid", "-o", str(link), str(EXAMPLE)]
    )
    result = run_launcher(args)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and (real / "out").read_text() != "old\n"
