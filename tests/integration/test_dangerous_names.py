"""Variables that change how the service's runtime loads code are refused unless the user allows them.

A cloned repository's manifest, a store writer or an env file could otherwise make the service run
code of their choosing (docs/security.md, section 7). Each test runs the launcher as a process and,
for the attacks, checks that the planted code did not run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support.process import DUMP_ENV, run_launcher, write

STORE = """
version: 1
projects:
  - name: p
    components:
      - name: svc
    connections:
      - id: c-api
        name: api-conn
        type: service
        visibility: project
        parameters:
          ServiceURL: {url}
"""


def component(tmp_path: Path, env_entries: str, url: str = "http://api") -> Path:
    directory = tmp_path / "svc"
    manifest = "schemaVersion: 1.2\nconfigurations:\n  env:\n" + env_entries
    write(directory / ".choreo" / "component.yaml", manifest)
    (write(directory / "connections.yaml", STORE.format(url=url))).chmod(0o600)
    return directory


def test_a_manifest_cannot_make_the_shell_source_a_file(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payload = write(tmp_path / "payload.sh", f"touch {marker}\n")
    directory = component(tmp_path, f"    - {{name: BASH_ENV, value: '{payload}'}}\n")
    result = run_launcher(["-C", str(directory), "--", "bash", "-c", "true"])
    assert result.returncode == 67
    assert not marker.exists()
    [line] = result.stderr.splitlines()
    assert "configurations.env[0].value: variable BASH_ENV changes how the service's runtime loads code" in line
    assert "--allow-variable BASH_ENV" in line


def test_a_store_value_cannot_become_the_services_python_path(tmp_path: Path) -> None:
    planted = tmp_path / "planted"
    marker = tmp_path / "pwned"
    write(planted / "sitecustomize.py", f"open({str(marker)!r}, 'w').close()\n")
    entries = "    - {name: PYTHONPATH, valueFrom: {connectionRef: {name: api-conn, key: ServiceURL}}}\n"
    directory = component(tmp_path, entries, url=str(planted))
    manifest = directory / ".choreo" / "component.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "configurations:",
            "dependencies:\n  connectionReferences:\n"
            "    - {name: api-conn, resourceRef: 'service:/p/api/v1/x/PROJECT'}\nconfigurations:",
        )
    )
    for args in (
        ["check", "-C", str(directory)],
        ["plan", "-C", str(directory)],
        ["-C", str(directory), "--", *DUMP_ENV],
    ):
        result = run_launcher(args)
        assert result.returncode == 67, result.stderr
        assert "connectionRef api-conn.ServiceURL: variable PYTHONPATH changes" in result.stderr
        assert str(planted) not in result.stderr  # the value is never shown
    assert not marker.exists()


def test_an_env_file_cannot_set_node_options(tmp_path: Path) -> None:
    directory = component(tmp_path, "    - {name: GREETING, value: hi}\n")
    env_file = write(tmp_path / "dev.env", "NODE_OPTIONS=--require /tmp/evil.js\n")
    result = run_launcher(["-C", str(directory), "--env-file", str(env_file), "--", "true"])
    assert result.returncode == 67
    assert "env-file" in result.stderr and "variable NODE_OPTIONS changes" in result.stderr


@pytest.mark.parametrize("how", ["flag", "variable"])
def test_the_user_may_allow_a_name_explicitly(tmp_path: Path, how: str) -> None:
    directory = component(
        tmp_path, "    - {name: PYTHONPATH, value: /opt/lib}\n    - {name: PERL5LIB, value: /opt/perl}\n"
    )
    args = ["-C", str(directory)]
    env = {}
    if how == "flag":
        args += ["--allow-variable", "PYTHONPATH", "--allow-variable", "PERL5LIB"]
    else:
        env["CHOREO_RUN_ALLOW_VARIABLE"] = "PYTHONPATH PERL5LIB"
    variables = run_launcher([*args, "--", *DUMP_ENV], env=env).env()
    assert variables["PYTHONPATH"] == "/opt/lib" and variables["PERL5LIB"] == "/opt/perl"


def test_allowing_one_name_allows_no_other(tmp_path: Path) -> None:
    directory = component(
        tmp_path, "    - {name: PYTHONPATH, value: /opt/lib}\n    - {name: LD_PRELOAD, value: /x.so}\n"
    )
    result = run_launcher(["check", "-C", str(directory), "--allow-variable", "PYTHONPATH"])
    assert result.returncode == 67
    assert "LD_PRELOAD" in result.stderr and "PYTHONPATH" not in result.stderr
