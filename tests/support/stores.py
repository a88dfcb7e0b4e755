"""Store builders the unit and integration tests share: the example store and a rich one with every kind of scope."""

from __future__ import annotations

from pathlib import Path

import yaml

from launcher.backends.local.store_file import Store, parse_store

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "orders-service" / "connections.yaml"
RICH = """
version: 1
configGroups:
  - name: org-flags
    parameters: {region: eu-west-1}
projects:
  - name: shop
    components:
      - name: a
        configForm: {development: {TOKEN: {value: form-secret-1, secret: true}}}
      - name: b/with slash
    oauthApps:
      - id: shared-app
        environments: {development: {clientId: s-id, clientSecret: s-secret-9, tokenUrl: http://idp/t}}
      - id: a-app
        component: a
        environments: {development: {clientId: a-id, clientSecret: a-secret-9, tokenUrl: http://idp/t}}
    configGroups:
      - name: flags
        parameters: {beta: {values: {development: "on", production: "off"}}}
    connections:
      - {id: c-1, name: project-api, type: service, visibility: project, auth: oauth,
         parameters: {ServiceURL: http://api}}
      - {id: c-2, name: a-db, type: database, visibility: component, component: a,
         parameters: {Password: {value: a-db-secret-9}, Port: {value: "5432", optional: true},
                      Username: {value: not-so-secret, secret: true}}}
      - {id: "c/3", name: b-db, type: database, visibility: component, component: b/with slash,
         parameters: {Password: b-db-secret-9}}
      - {id: c-4, name: a-api, type: service, visibility: component, component: a, oauthApp: a-app,
         parameters: {ServiceURL: http://a-api}}
  - name: shop2
    components: [{name: a}]
"""
SECRETS = ("a-db-secret-9", "b-db-secret-9", "a-secret-9", "s-secret-9", "form-secret-1")


def rich_store() -> Store:
    return parse_store(yaml.safe_load(RICH), "rich.yaml")


def example_store() -> Store:
    return parse_store(yaml.safe_load(EXAMPLE.read_text()), "example.yaml")
