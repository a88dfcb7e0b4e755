"""The diagram's analysis (who uses which connection, what it points at), layout and text renderers, pure."""

from __future__ import annotations

import pytest

from launcher.diagram.analysis import (
    MISSING,
    NOT_VISIBLE,
    OK,
    PROJECT_CARD,
    REFERENCED,
    STORE_ONLY,
    UNCHECKED,
    UNUSED,
    ComponentSource,
    analyze,
    parse_ref,
)
from launcher.diagram.html import render_html
from launcher.diagram.inventory import ConnectionInfo, Inventory
from launcher.diagram.layout import lay_out
from launcher.diagram.svg import render_svg
from launcher.diagram.text import render_dot, render_mermaid
from launcher.diagram.usage import usage_text
from launcher.manifest.reader import manifest_from_data


def manifest(refs=(), service_refs=(), env=()):  # type: ignore[no-untyped-def]
    data = {
        "schemaVersion": "1.2",
        "dependencies": {
            "connectionReferences": [{"name": n, "resourceRef": r or "thirdparty:unnamed/v1"} for n, r in refs],
            "serviceReferences": [
                {"name": n, "connectionConfig": i, "env": [{"from": "ServiceURL", "to": "URL"}]}
                for n, i in service_refs
            ],
        },
        "configurations": {
            "env": [{"name": v, "valueFrom": {"connectionRef": {"name": c, "key": "HostName"}}} for v, c in env]
        },
    }
    return manifest_from_data(data, ".choreo/component.yaml")


def conn(cid, name, type_="service", owner=None, ref=None, app=None, unset=()):  # type: ignore[no-untyped-def]
    return ConnectionInfo(cid, name, type_, "component" if owner else "project", owner, app, ref, tuple(unset))


INVENTORY = Inventory(
    "shop",
    "file:store.yaml",
    ("orders", "billing", "ledger"),
    (
        conn("id-cat", "catalog", ref="service:/shop/catalog/v1/ep/PROJECT", app="shop-shared"),
        conn("id-pay", "payments", ref="service:/partners/pay-api/v1/ep/PUBLIC", app="shop-shared"),
        conn("id-odb", "orders-db", "database", owner="orders", ref="database:pg/orders", unset=("Password",)),
        conn("id-bdb", "billing-db", "database", owner="billing", ref="database:pg/billing"),
        conn("id-ldb", "ledger-db", "database", owner="ledger"),
        conn("id-stripe", "stripe", "third-party", owner="billing", ref="thirdparty:stripe/v1"),
        conn("id-idle", "idle", "service", ref="service:/shop/orders/v1/ep/PROJECT"),
    ),
    {"shop-shared": None},
    environment="production",
)


def diagram():  # type: ignore[no-untyped-def]
    sources = [
        ComponentSource(
            "orders",
            "svc/orders",
            manifest(
                refs=[("catalog", None), ("orders-db", None), ("ghost", "thirdparty:sendgrid/v1")],
                env=[("X", "billing-db")],
            ),
            "service",
            "endpoints",
        ),
        ComponentSource(
            "billing",
            "svc/billing",
            manifest(refs=[("catalog", None)], service_refs=[("x", "id-bdb"), ("y", "id-nope")]),
        ),
    ]
    return analyze(INVENTORY, sources)


def by(result, source, name):  # type: ignore[no-untyped-def]
    return next(u for u in result.uses if u.source == f"c:{source}" and u.name == name)


def test_uses_are_found_as_a_launch_finds_them_and_refusals_flagged() -> None:
    result = diagram()
    assert by(result, "orders", "catalog").status == OK
    assert by(result, "orders", "orders-db").status == OK
    assert by(result, "orders", "ghost").status == MISSING
    assert by(result, "orders", "ghost").target == "third-party:sendgrid"  # from the manifest's resourceRef
    refused = by(result, "orders", "billing-db")  # a valueFrom.connectionRef to another component's connection
    assert refused.status == NOT_VISIBLE and "billing" in refused.note
    assert by(result, "billing", "billing-db").status == OK  # by Connection ID
    assert by(result, "billing", "billing-db").references == ("dependencies.serviceReferences[0]",)
    assert by(result, "billing", "y").status == MISSING
    assert {u.status for u in result.problems()} == {MISSING, NOT_VISIBLE}


def test_unused_and_unchecked_connections_are_still_drawn() -> None:
    result = diagram()
    ledger = by(result, "ledger", "ledger-db")
    assert ledger.status == UNCHECKED  # its owner's manifest was not given
    stripe = by(result, "billing", "stripe")
    assert stripe.status == UNUSED  # billing's manifest was read: nobody uses it
    idle = next(u for u in result.uses if u.name == "idle")
    assert idle.status == UNUSED and idle.source == PROJECT_CARD
    assert {s.info.name for s in result.connections} == {c.name for c in INVENTORY.connections}
    odb = next(s for s in result.connections if s.info.name == "orders-db")
    assert "no value in production for Password" in odb.flags


def test_targets_inside_and_outside_the_project() -> None:
    result = diagram()
    catalog = result.target("c:catalog")
    assert catalog is not None and catalog.internal and catalog.kind == "component"
    assert result.component("c:catalog").origin == REFERENCED  # type: ignore[union-attr]
    assert result.component("c:ledger").origin == STORE_ONLY  # type: ignore[union-attr]
    assert result.target("service:partners/pay-api").kind == "service"  # type: ignore[union-attr]
    assert result.target("database:pg/orders").kind == "database"  # type: ignore[union-attr]
    assert result.target("database:?ledger-db").detail.startswith("no resourceRef")  # type: ignore[union-attr]
    assert by(result, "orders", "catalog").endpoint_visibility == "PROJECT"


def test_shared_oauth_applications_and_who_a_rotation_affects() -> None:
    result = diagram()
    (app,) = result.oauth_apps
    assert app.shared and app.connections == ("catalog", "payments") and app.components == ("billing", "orders")
    text = usage_text(result, "id-cat", directories_given=True)
    assert "Used by (2 of 2 components checked):" in text
    assert "OAuth application shop-shared: shared with payments; rotating its secret affects billing, orders" in text


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("service:/p/c/v1/ep/PUBLIC", ("service", "p", "c", "PUBLIC")),
        ("choreo:///org/p/c/ep/v1/PUBLIC", ("service", "p", "c", "PUBLIC")),
        ("database:srv/db", ("database", None, "srv/db", "")),
        ("thirdparty:stripe/v1", ("third-party", None, "stripe", "")),
        ("storage:bucket", ("storage", None, "bucket", "")),
    ],
)
def test_references_are_parsed(ref: str, expected: tuple) -> None:  # type: ignore[type-arg]
    parsed = parse_ref(ref)
    assert parsed is not None
    assert (parsed.kind, parsed.project, parsed.name, parsed.endpoint_visibility) == expected


def test_names_are_escaped_in_every_format() -> None:
    hostile = '"]</script><img src=x onerror=alert(1)>{{'
    inventory = Inventory(hostile, "file:x", (hostile,), (conn("id-1", "db-1", "database", owner=hostile),), {})
    result = analyze(inventory, [ComponentSource(hostile, "d", manifest(refs=[("db-1", None)]))])
    html = render_html(result, lay_out(result, heading=False))
    assert "</script><img" not in html and "<img src=x" not in html
    assert html.count("</script>") == 2  # the data and the script, closed once each
    mermaid = render_mermaid(result)
    assert hostile not in mermaid and "#quot;" in mermaid
    dot = render_dot(result)
    assert '\\"]' in dot


def test_layout_never_overlaps_and_draws_every_connection_at_any_size() -> None:
    def inventory(components: int, connections: int) -> tuple[Inventory, list[ComponentSource]]:
        names = [f"c{i}" for i in range(components)]
        infos = tuple(
            conn(f"id{i}", f"conn{i}", "database", owner=names[i % components], ref=f"database:db{i % 9}/x")
            if i % 2
            else conn(f"id{i}", f"conn{i}", ref=f"service:/shop/{names[(i * 7) % components]}/v1/e/PROJECT")
            for i in range(connections)
        )
        sources = [
            ComponentSource(
                n,
                n,
                manifest(refs=[(c.name, None) for c in infos if c.owner in (None, n) and hash(c.name + n) % 3 == 0]),
            )
            for n in names
        ]
        return Inventory("shop", "s", tuple(names), infos, {}), sources

    for size in ((10, 40), (50, 200)):
        inv, sources = inventory(*size)
        result = analyze(inv, sources)
        layout = lay_out(result)
        render_svg(result, layout)
        boxes = [card.box for card in layout.cards] + [placed.box for placed in layout.targets]
        for index, a in enumerate(boxes):
            for b in boxes[index + 1 :]:
                assert a.right <= b.x or b.right <= a.x or a.bottom <= b.y or b.bottom <= a.y, (a, b)
        assert {e.use.name for e in layout.edges} >= {c.name for c in inv.connections}
