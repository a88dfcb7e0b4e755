"""`choreo-run diagram` as a real process, its HTML opened in a real headless browser (Debian's chromium).

What a person would see is checked on the page the browser built (`--dump-dom`): every component and
every connection present, the page's script ran without error (it sets data-diagram="ready" on <html>
only then), and no secret value anywhere in the file. The Mermaid output is parsed by the `mermaid`
npm package's own parser under node, the DOT output by Graphviz's `dot`; each skips with its reason
where its tool is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

from support.process import EXAMPLE, REPO, run_launcher, write

BROWSER_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]
MERMAID_VERSION = "11"


# ---------------------------------------------------------------- tools


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("no chromium (Debian: apt-get install chromium; .ci/run installs it)")
    with tempfile.TemporaryDirectory() as profile:
        probe = subprocess.run(
            [path, *BROWSER_FLAGS, f"--user-data-dir={profile}", "--dump-dom", "data:text/html,<p>ok</p>"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    if "<p>ok</p>" not in probe.stdout:
        pytest.skip(f"chromium cannot start here: {probe.stderr.strip().splitlines()[-1:]}")
    return path


def dump_dom(chromium: str, page: Path) -> str:
    """The DOM after the page's script ran, as chromium serializes it."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [
                chromium,
                *BROWSER_FLAGS,
                f"--user-data-dir={profile}",
                "--virtual-time-budget=2000",
                "--dump-dom",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def screenshot(chromium: str, page: Path, png: Path, size: str = "1400,900") -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                *BROWSER_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={size}",
                f"--screenshot={png}",
                page.as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=True,
        )


class _Text(HTMLParser):
    """The text a person reads (scripts and styles left out) and every attribute that could fetch."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.fetching: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if (
                name in ("src", "href", "xlink:href", "action", "srcset", "poster")
                and value
                and not value.startswith("#")
            ):
                self.fetching.append(f"{tag} {name}={value}")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def visible_text(html: str) -> tuple[str, list[str]]:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.text), parser.fetching


def store_secrets(store_file: Path) -> list[str]:
    """Every value the store marks secret, and every OAuth client secret (and ID): none may appear."""
    data = yaml.safe_load(store_file.read_text())
    found: list[str] = []
    for project in data.get("projects", []):
        for app in project.get("oauthApps", []) or []:
            for values in (app.get("environments") or {}).values():
                found += [str(values["clientSecret"]), str(values["clientId"])]
        for connection in project.get("connections", []) or []:
            for key, parameter in (connection.get("parameters") or {}).items():
                if isinstance(parameter, dict) and (parameter.get("secret") or key.lower() in ("password", "apikey")):
                    found += [str(v) for v in (parameter.get("values") or {}).values()]
                    if "value" in parameter:
                        found.append(str(parameter["value"]))
        for component in project.get("components", []) or []:
            for form in (component.get("configForm") or {}).values():
                found += [str(v["value"]) for v in form.values() if isinstance(v, dict) and v.get("secret")]
    return found


def all_values(store_file: Path) -> list[str]:
    """Every parameter value of every connection (secret or not): the diagram reads none of them."""
    data = yaml.safe_load(store_file.read_text())
    values: list[str] = []
    for project in data.get("projects", []):
        for connection in project.get("connections", []) or []:
            for parameter in (connection.get("parameters") or {}).values():
                if isinstance(parameter, dict):
                    values += [str(v) for v in (parameter.get("values") or {}).values()]
                    values += [str(parameter["value"])] if "value" in parameter else []
                else:
                    values.append(str(parameter))
    # A value that is also a name ("orders": the example's user and database are named like the
    # service) cannot be told apart; every other one must be absent.
    names = [str(store_file)]
    for project in data.get("projects", []):
        names += [project["name"], *(c["name"] for c in project.get("components", []) or [])]
        names += [
            str(c.get(k, "")) for c in project.get("connections", []) or [] for k in ("name", "resourceRef", "id")
        ]
    return [v for v in values if len(v) >= 4 and not any(v in name for name in names)]


# ---------------------------------------------------------------- a large project


def write_large_project(root: Path, components: int = 50, connections: int = 200) -> tuple[list[Path], Path, dict]:
    """`components` component directories and one store of `connections` connections: project and
    component connections, services inside and outside the project, third-party services, databases,
    shared OAuth, a few unused connections and a few references the store lacks."""
    names = [f"svc-{i:02d}" for i in range(components)]
    conns: list[dict] = []
    refs: dict[str, list[dict]] = {name: [] for name in names}
    uses_by_id: dict[str, list[str]] = {name: [] for name in names}
    for i in range(connections):
        owner = names[i % components]
        kind = i % 5
        cid = f"01ef0000-0000-1000-8000-{i:012d}"
        entry: dict = {"id": cid, "name": f"conn-{i:03d}", "parameters": {}}
        if kind == 0:  # a project connection to a service of the project, under the shared OAuth app
            target = names[(i * 7 + 3) % components]
            entry |= {"type": "service", "visibility": "project", "auth": "oauth"}
            entry["resourceRef"] = f"service:/shop/{target}/v1/ep{i}/PROJECT"
            entry["parameters"] = {"ServiceURL": f"http://{target}.internal:8080/u{i}"}
        elif kind == 1:  # a project connection to a service of another project
            entry |= {"type": "service", "visibility": "project"}
            entry["resourceRef"] = f"service:/partners/partner-api-{i % 6}/v1/ep/PUBLIC"
            entry["parameters"] = {
                "ServiceURL": f"https://partner{i}.example.net/api",
                "ChoreoAPIKey": {"secret": True, "value": f"APIKEY-{i}-b7c1e2"},
            }
        elif kind == 2:
            entry |= {"type": "database", "visibility": "component", "component": owner}
            entry["resourceRef"] = f"database:pg-cluster-{i % 8}/shop{i % 3}"
            entry["parameters"] = {
                "HostName": f"pg{i}.db.internal",
                "Password": {"secret": True, "value": f"DBPASS-{i}-9f3a7d"},
            }
        elif kind == 3:
            entry |= {"type": "third-party", "visibility": "component", "component": owner}
            entry["resourceRef"] = f"thirdparty:provider-{i % 7}/v1"
            entry["parameters"] = {"ApiKey": {"secret": True, "value": f"TPKEY-{i}-0c4d5e"}}
        else:
            entry |= {"type": "storage", "visibility": "component", "component": owner}
            entry["resourceRef"] = f"storage:bucket-{i % 4}"
            entry["parameters"] = {"Token": {"secret": True, "value": f"STTOKEN-{i}-aa81f0"}}
        conns.append(entry)
        if i % 23 == 22:
            continue  # never referenced: flagged unused
        user = owner if entry["visibility"] == "component" else names[(i * 3) % components]
        if i % 2 and entry["visibility"] == "component":
            uses_by_id[user].append(cid)  # by Connection ID (serviceReferences)
        else:
            refs[user].append({"name": entry["name"], "resourceRef": entry.get("resourceRef")})
    for index, name in enumerate(names):
        if index % 10 == 9:
            refs[name].append({"name": "conn-not-in-store", "resourceRef": "database:legacy/olddb"})
        manifest: dict = {"schemaVersion": "1.2", "dependencies": {"connectionReferences": refs[name]}}
        if uses_by_id[name]:
            manifest["dependencies"]["serviceReferences"] = [
                {
                    "name": f"ref-{cid[-4:]}",
                    "connectionConfig": cid,
                    "env": [{"from": "HostName", "to": f"H_{cid[-4:]}"}],
                }
                for cid in uses_by_id[name]
            ]
        if index % 2 == 0:
            manifest["endpoints"] = [
                {"name": "api", "type": "REST", "service": {"port": 8080}, "networkVisibilities": ["Project"]}
            ]
        write(root / name / ".choreo" / "component.yaml", yaml.safe_dump(manifest, sort_keys=False))
    store = {
        "version": 1,
        "projects": [
            {
                "name": "shop",
                "components": [{"name": name} for name in names],
                "oauthApps": [
                    {
                        "id": "shop-shared",
                        "environments": {
                            "development": {
                                "clientId": "CLIENTID-shared-5e1f",
                                "clientSecret": "OAUTHSECRET-shared-77d2",
                                "tokenUrl": "https://idp.example/token",
                            }
                        },
                    }
                ],
                "connections": conns,
            }
        ],
    }
    store_file = write(root / "store.yaml", yaml.safe_dump(store, sort_keys=False))
    store_file.chmod(0o600)
    return [root / name for name in names], store_file, store


# ---------------------------------------------------------------- the example, in a browser


def test_the_example_in_a_browser_shows_every_component_and_connection_and_no_value(
    chromium: str, tmp_path: Path
) -> None:
    page = tmp_path / "diagram.html"
    result = run_launcher(["diagram", str(EXAMPLE), "-o", str(page)])
    assert result.returncode == 0, result.stderr
    html = page.read_text()
    dom = dump_dom(chromium, page)
    assert 'data-diagram="ready"' in dom, re.findall(r'id="diagram-status"[^>]*>[^<]*', dom)
    text, fetching = visible_text(dom)
    for component in ("orders-service", "billing-service", "catalog-service"):
        assert component in text
    for connection in ("book-catalog", "orders-db", "billing-db"):
        assert connection in text
        assert re.search(rf'<g class="row[^"]*"[^>]*data-name="{connection}"', dom), (
            f"{connection} has no row in the SVG"
        )
    assert "01ef7a3f-a581-1088-8322-ac5bc449b1d9" in text  # Connection IDs are shown; values never
    assert "orders-server/orders" in text
    store = EXAMPLE / "connections.yaml"
    for value in store_secrets(store) + all_values(store) + ["dev-payment-key-5f2e", "prod-payment-key-91ac"]:
        assert value not in html, f"a store value is in the page: {value[:3]}..."
    assert fetching == [], fetching
    assert "default-src 'none'" in html


def test_the_page_flags_broken_references_shows_them_red_and_keeps_its_script_working(
    chromium: str, tmp_path: Path
) -> None:
    """Hostile names cannot break the page: a component directory named like markup stays text."""
    component = tmp_path / "web</script><b>x"
    write(
        component / ".choreo" / "component.yaml",
        """
        schemaVersion: 1.2
        dependencies:
          connectionReferences:
            - name: not-there
              resourceRef: thirdparty:stripe/v1
            - name: orders-db
              resourceRef: database:orders-server/orders
        """,
    )
    store = yaml.safe_load((EXAMPLE / "connections.yaml").read_text())
    store["projects"][0]["components"].append({"name": component.name})
    store_file = write(tmp_path / "store.yaml", yaml.safe_dump(store))
    page = tmp_path / "broken.html"
    result = run_launcher(["diagram", "--backend", str(store_file), str(component), str(EXAMPLE), "-o", str(page)])
    assert result.returncode == 0, result.stderr
    assert "not-there" in result.stderr and "orders-db" in result.stderr  # warned about, both
    dom = dump_dom(chromium, page)
    assert 'data-diagram="ready"' in dom
    text, _ = visible_text(dom)
    assert "missing in store" in text and "not visible" in text
    assert "web</script><b>x" in text  # shown as text, not markup
    assert "<b>x" not in dom.replace("&lt;b&gt;x", "")


@pytest.mark.parametrize("size", [(50, 200)])
def test_a_large_project_renders_completely(chromium: str, tmp_path: Path, size: tuple[int, int]) -> None:
    directories, store_file, store = write_large_project(tmp_path / "repo", *size)
    page = tmp_path / "large.html"
    # How long it takes is measured in docs/diagram.md, not asserted here (docs/performance.md's rule).
    result = run_launcher(["diagram", "--backend", str(store_file), *map(str, directories), "-o", str(page)])
    assert result.returncode == 0, result.stderr
    html = page.read_text()
    for value in store_secrets(store_file) + all_values(store_file):
        assert value not in html, f"a store value is in the page: {value[:6]}..."
    dom = dump_dom(chromium, page)
    assert 'data-diagram="ready"' in dom
    text, _ = visible_text(dom)
    connections = store["projects"][0]["connections"]
    for connection in connections:
        assert re.search(rf'<g class="row[^"]*"[^>]*data-name="{connection["name"]}"', dom), connection["name"]
        assert connection["id"] in text
    for directory in directories:
        assert f'data-key="c:{directory.name}"' in dom
    assert text.count("missing in store") >= 5
    # Every connection is an edge of the SVG; uses of one connection by several components are several.
    edges = re.findall(r'<path class="edge [^"]*" id="e\d+"', dom)
    assert len(edges) >= len(connections)
    if os.environ.get("CHOREO_RUN_DIAGRAM_SCREENSHOT"):
        screenshot(chromium, page, Path(os.environ["CHOREO_RUN_DIAGRAM_SCREENSHOT"]), "1400,2400")


# ---------------------------------------------------------------- the other formats, by their own tools


def test_the_svg_is_a_standalone_well_formed_image(tmp_path: Path) -> None:
    directories, store_file, _ = write_large_project(tmp_path / "repo", 12, 40)
    result = run_launcher(["diagram", "--format", "svg", "--backend", str(store_file), *map(str, directories)])
    assert result.returncode == 0, result.stderr
    root = ET.fromstring(result.stdout.encode())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "<script" not in result.stdout and "http://www.w3.org/2000/svg" in result.stdout


def test_dot_output_is_read_by_graphviz(tmp_path: Path) -> None:
    dot = shutil.which("dot")
    if dot is None:
        pytest.skip("no Graphviz dot (Debian: apt-get install graphviz; .ci/run installs it)")
    directories, store_file, store = write_large_project(tmp_path / "repo", 50, 200)
    for args in (["--backend", str(store_file), *map(str, directories)], [str(EXAMPLE)]):
        result = run_launcher(["diagram", "--format", "dot", *args])
        assert result.returncode == 0, result.stderr
        drawn = subprocess.run([dot, "-Tsvg"], input=result.stdout, capture_output=True, text=True, timeout=120)
        assert drawn.returncode == 0, drawn.stderr
        assert "<svg" in drawn.stdout
    assert all(
        c["name"] in result.stdout
        for c in yaml.safe_load((EXAMPLE / "connections.yaml").read_text())["projects"][0]["connections"]
    )


@pytest.fixture(scope="module")
def mermaid_parser() -> Path:
    """node and the `mermaid` package (with jsdom for the DOM it expects), installed from the npm registry
    into a directory outside the repository, reused across runs."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("no node/npm: the Mermaid output cannot be parsed by mermaid's own parser here")
    home = Path(tempfile.gettempdir()) / f"choreo-run-mermaid-{MERMAID_VERSION}"
    if not (home / "node_modules" / "mermaid" / "package.json").is_file():
        home.mkdir(parents=True, exist_ok=True)
        installed = subprocess.run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                "--prefix",
                str(home),
                f"mermaid@{MERMAID_VERSION}",
                "jsdom",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if installed.returncode != 0:
            pytest.skip(f"cannot install mermaid from the npm registry: {installed.stderr.strip()[-300:]}")
    script = home / "parse.mjs"
    script.write_text(MERMAID_PARSE)
    return script


MERMAID_PARSE = r"""
import { JSDOM } from 'jsdom';
import { readFileSync } from 'node:fs';
const dom = new JSDOM('<!DOCTYPE html><body></body>');
globalThis.window = dom.window; globalThis.document = dom.window.document;
globalThis.DOMParser = dom.window.DOMParser; globalThis.Element = dom.window.Element;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false });
const text = readFileSync(0, 'utf8');
try {
  const result = await mermaid.parse(text);
  console.log(JSON.stringify({ ok: true, type: result.diagramType }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: String(error && error.message || error) }));
  process.exit(1);
}
"""


def test_mermaid_output_is_read_by_mermaids_own_parser(mermaid_parser: Path, tmp_path: Path) -> None:
    directories, store_file, _ = write_large_project(tmp_path / "repo", 50, 200)
    for args in (["--backend", str(store_file), *map(str, directories)], [str(EXAMPLE)]):
        result = run_launcher(["diagram", "--format", "mermaid", *args])
        assert result.returncode == 0, result.stderr
        parsed = subprocess.run(
            ["node", str(mermaid_parser)],
            input=result.stdout,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=mermaid_parser.parent,
        )
        assert parsed.returncode == 0, parsed.stdout + parsed.stderr[-2000:]
        assert json.loads(parsed.stdout.strip().splitlines()[-1]) == {"ok": True, "type": "flowchart-v2"}


def test_mermaid_parser_rejects_what_is_not_mermaid(mermaid_parser: Path) -> None:
    """The check above means something: the same parser refuses a broken chart."""
    parsed = subprocess.run(
        ["node", str(mermaid_parser)],
        input='flowchart LR\n  a -->|"x| b\n  subgraph\n',
        capture_output=True,
        text=True,
        timeout=120,
        cwd=mermaid_parser.parent,
    )
    assert parsed.returncode != 0


# ---------------------------------------------------------------- connection show: used by


def test_connection_show_lists_the_components_that_use_it(tmp_path: Path) -> None:
    directories, store_file, _ = write_large_project(tmp_path / "repo", 10, 30)
    shown = run_launcher(
        [
            "connection",
            "show",
            "conn-000",
            "--backend",
            str(store_file),
            *[a for d in directories for a in ("-C", str(d))],
        ]
    )
    assert shown.returncode == 0, shown.stderr
    assert "May be used by: any component of project shop (project connection)" in shown.stdout
    assert re.search(r"Used by \(1 of 10 components checked\):\n  svc-00  \(", shown.stdout), shown.stdout
    assert "OAuth application shop-shared: shared with conn-005" in shown.stdout
    unused = run_launcher(["connection", "show", "conn-022", "--backend", str(store_file), "-C", str(directories[2])])
    assert "Used by: none of the 1 components checked" in unused.stdout
    bare = run_launcher(["connection", "show", "conn-002", "--backend", str(store_file)])
    assert "May be used by: component svc-02 only" in bare.stdout and "-C DIR" in bare.stdout
    assert "DBPASS-2-9f3a7d" not in bare.stdout  # masked, as before


def test_the_example_diagram_in_the_docs_is_current(tmp_path: Path) -> None:
    """docs/diagram.md shows the example's Mermaid; it must be what the command prints."""
    result = run_launcher(["diagram", "--format", "mermaid", str(EXAMPLE)])
    assert result.returncode == 0, result.stderr
    assert result.stdout in (REPO / "docs" / "diagram.md").read_text()
