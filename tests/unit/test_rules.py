"""The domain rules that have one home each: visibility, unique Connection IDs, key tables, the mask."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launcher import keys, naming
from launcher.backends.local.document import empty_store
from launcher.backends.local.store_file import ALL_ENVIRONMENTS, StoredParameter
from launcher.connections import operations as ops
from launcher.connections.input import parameter_updates
from launcher.connections.snippets import connection_keys, details
from launcher.documents import shape
from launcher.errors import UsageError
from launcher.model import COMPONENT, PROJECT, Assignment, Identity, Origin, duplicate_id_message, duplicate_ids
from launcher.resolve.output import shown_value
from launcher.visibility import (
    boundary_crossed,
    may_use_app,
    own_first,
    owner,
    scope_problem,
    shared_with,
    visibility_for,
    visible_to,
    why_not_visible,
)

ORDERS = Identity("shop", "orders")


# ---------------------------------------------------------------- visibility


@pytest.mark.parametrize(
    "project, owning, crossed",
    [
        ("shop", None, None),  # a project connection: every component of the project
        ("shop", "orders", None),  # its own component connection
        ("shop", "billing", "component"),  # another component's
        ("other", None, "project"),  # nothing crosses projects, project connections included
        ("other", "orders", "project"),  # a same-named component elsewhere is not this one
    ],
)
def test_who_may_use_a_connection(project: str, owning: str | None, crossed: str | None) -> None:
    assert boundary_crossed(ORDERS, project, owning) == crossed
    assert visible_to(ORDERS, project, owning) is (crossed is None)


def test_refusals_name_the_boundary() -> None:
    assert "visible only inside their project" in why_not_visible(ORDERS, "'db'", "other", None)
    assert "component connection of 'billing'" in why_not_visible(ORDERS, "'db'", "shop", "billing")


def test_owner_and_visibility_are_two_views_of_one_fact() -> None:
    assert owner(PROJECT, "orders") is None and owner(COMPONENT, "orders") == "orders"
    assert visibility_for(None) == PROJECT and visibility_for("orders") == COMPONENT
    assert shared_with(None, "orders") and shared_with("orders", "orders") and not shared_with("billing", "orders")


@pytest.mark.parametrize(
    "visibility, component, problem",
    [
        (PROJECT, None, None),
        (COMPONENT, "orders", None),
        ("public", None, ("visibility", "expected project or component")),
        (COMPONENT, None, ("component", "expected the owning component for a component connection")),
        (COMPONENT, "", ("component", "expected the owning component for a component connection")),
        (PROJECT, "orders", ("component", "a project connection has no owning component")),
    ],
)
def test_scope_problems(visibility: str, component: str | None, problem: tuple[str, str] | None) -> None:
    assert scope_problem(visibility, component) == problem


@pytest.mark.parametrize(
    "app_owner, visibility, component, allowed",
    [
        (None, PROJECT, None, True),
        (None, COMPONENT, "orders", True),
        ("orders", COMPONENT, "orders", True),
        ("orders", PROJECT, None, False),  # every component may use the connection, not the application
        ("billing", COMPONENT, "orders", False),
    ],
)
def test_which_oauth_application_a_connection_may_use(app_owner, visibility, component, allowed) -> None:
    assert may_use_app(app_owner, visibility, component) is allowed


def test_a_components_own_connection_comes_before_the_projects() -> None:
    class C:
        def __init__(self, visibility: str) -> None:
            self.visibility = visibility

    shared, own = C(PROJECT), C(COMPONENT)
    assert own_first([shared, own]) == [own, shared]


# ---------------------------------------------------------------- unique Connection IDs


def test_repeated_ids_point_at_the_first() -> None:
    assert duplicate_ids(["a", "b", "a", "c", "a", "b"]) == [(2, 0), (4, 0), (5, 1)]
    assert duplicate_ids([]) == []
    assert duplicate_id_message("at connections[0]", "c1") == "duplicate Connection ID 'c1' (also at connections[0])"
    assert duplicate_id_message("at connections[0]") == "duplicate Connection ID (also at connections[0])"


# ---------------------------------------------------------------- key tables


@pytest.mark.parametrize(
    "key",
    [
        "Password",
        "password",
        "ConsumerSecret",
        "client_secret",
        "Client-Secret",
        "API_KEY",
        "api-key",
        "ChoreoAPIKey",
        "token",
    ],
)
def test_credential_names_are_secret_however_they_are_spelt(key: str) -> None:
    # Drift fixed: the store and `connection` commands compared key.lower() only, so `client_secret`
    # or `API_KEY` were stored in clear while a Service Binding entry of that name was secret.
    assert keys.is_secret_by_default(key)


@pytest.mark.parametrize("key", ["HostName", "Port", "ServiceURL", "user_name", "TokenURL"])
def test_other_names_are_not_secret_by_default(key: str) -> None:
    assert not keys.is_secret_by_default(key)


def test_a_credential_spelt_with_underscores_is_never_taken_from_the_command_line() -> None:
    with pytest.raises(UsageError, match="client_secret is a secret parameter"):
        parameter_updates(("client_secret=s3cr3t",), (), None, ())


def test_a_credential_spelt_with_underscores_is_stored_secret() -> None:
    values = {"api_key": StoredParameter({ALL_ENVIRONMENTS: "k"}), "Port": StoredParameter({ALL_ENVIRONMENTS: "1"})}
    spec = ops.ConnectionSpec("shop", "payments", "third-party", PROJECT, None, values, "thirdparty:pay/v1")
    _, created = ops.create_connection(empty_store("s.yaml"), spec, ops.Generators(connection_id=lambda: "id-1"))
    assert created.connection.parameters["api_key"].secret and not created.connection.parameters["Port"].secret


@pytest.mark.parametrize(
    "written, stored",
    [
        ("host", "HostName"),
        ("serviceUrl", "ServiceURL"),
        ("uri", "ServiceURL"),
        ("token_uri", "TokenURL"),
        ("client-id", "ConsumerKey"),
        ("apiKey", "ChoreoAPIKey"),
        ("dbname", "DatabaseName"),
    ],
)
def test_aliases_come_from_the_one_table(written: str, stored: str) -> None:
    assert keys.lookup_key({stored: 1, "Other": 2}, written) == (stored, True)
    assert keys.ALIASES[keys.plain(written)] == stored


def test_the_spellings_table_names_each_spelling_once() -> None:
    spellings = [spelling for _, names in keys.SPELLINGS for spelling in names]
    assert len(spellings) == len(set(spellings))
    assert not keys.NON_SECRET & keys.SECRET_BY_DEFAULT


def test_oauth_keys_and_which_is_secret() -> None:
    assert keys.oauth_keys() == [("ConsumerKey", False), ("ConsumerSecret", True), ("TokenURL", False)]


# ---------------------------------------------------------------- the mask


def test_every_display_masks_with_the_one_string() -> None:
    origin = Origin("connection", "db.Password")
    assert shown_value(Assignment("P", "s3cr3t", True, origin)) == keys.MASK
    store, created = ops.create_connection(
        empty_store("s.yaml"),
        ops.ConnectionSpec(
            "shop", "orders-db", "database", PROJECT, None, {"Password": StoredParameter({ALL_ENVIRONMENTS: "s3cr3t"})}
        ),
        ops.Generators(connection_id=lambda: "id-1"),
    )
    shown = details(store, created.connection, reveal=False)
    assert f"Password [all environments]: {keys.MASK}" in shown and "s3cr3t" not in shown
    assert connection_keys(created.connection) == [("Password", True)]


# ---------------------------------------------------------------- secret by name (item 12.7)


@pytest.mark.parametrize(
    "key",
    [
        "api_key",
        "client_secret",
        "DB_PASSWORD",
        "AccessToken",
        "SecretKey",
        "privateKey",
        "passphrase",
        "credentials",
        "refresh_token",
        "STRIPE_SECRET_KEY",
        "Password2",
        " Password",
        "Password ",
        "signing-key",
    ],
)
def test_names_that_end_in_a_credential_word_are_secret(key: str) -> None:
    assert keys.is_secret_by_default(key)


@pytest.mark.parametrize(
    "key",
    ["Passport", "TokenURL", "token_endpoint", "PASSWORD_FILE", "ConsumerKey", "PublicKey", "Key", "SECRET_NAME"],
)
def test_names_that_only_contain_a_credential_word_are_not(key: str) -> None:
    # Whole words, and the last one decides: a TokenURL is a URL, a Passport is no password.
    assert not keys.is_secret_by_default(key)


def test_secret_by_default_answers_the_same_when_asked_again() -> None:
    # Answers are remembered per key (a store repeats a few keys thousands of times): never a stale one.
    for key in ["Password", "password", "Passport", "TokenURL", "AccessToken", "HostName", " Password"] * 2:
        assert keys.is_secret_by_default(key) == keys._is_secret_by_default(key)


def test_words_split_camel_case_acronyms_snake_and_kebab() -> None:
    assert keys.words("ChoreoAPIKey") == ["choreo", "api", "key"]
    assert keys.words("TokenURL") == ["token", "url"]
    assert keys.words("db-password_2") == ["db", "password", "2"]


@pytest.mark.parametrize("pair", [" Password=x", "Password =x", " client_secret =x", "AccessToken=x"])
def test_a_secret_is_never_taken_from_the_command_line_whatever_the_blanks(pair: str) -> None:
    with pytest.raises(UsageError, match="is a secret parameter"):
        parameter_updates((pair,), (), None, ())


def test_a_param_without_equals_is_never_echoed() -> None:
    with pytest.raises(UsageError) as caught:
        parameter_updates(("s3cr3t-value",), (), None, ())
    assert "s3cr3t" not in str(caught.value)


def test_a_plain_param_keeps_its_name_without_blanks() -> None:
    [update] = parameter_updates((" Port =5432",), (), None, ())
    assert update.key == "Port" and update.values == {ALL_ENVIRONMENTS: "5432"}


# ---------------------------------------------------------------- dangerous variable names (item 12.7)


@pytest.mark.parametrize("name", ["LD_PRELOAD", "BASH_ENV", "ENV", "PYTHONPATH", "NODE_OPTIONS", "PATH", "IFS"])
def test_names_that_change_how_code_loads_are_refused_unless_allowed(name: str) -> None:
    problem = naming.dangerous_variable_problem(name)
    assert problem and name in problem and f"--allow-variable {name}" in problem
    assert naming.dangerous_variable_problem(name, frozenset({name})) is None


@pytest.mark.parametrize("name", ["LD_SDK_KEY", "path", "PYTHONUNBUFFERED", "NODE_ENV", "JAVA_HOME", "HOME"])
def test_ordinary_names_are_not_dangerous(name: str) -> None:
    assert naming.dangerous_variable_problem(name) is None


def test_the_issues_list_is_covered() -> None:
    listed = "LD_PRELOAD LD_LIBRARY_PATH LD_AUDIT BASH_ENV ENV PYTHONPATH PYTHONSTARTUP PYTHONHOME NODE_OPTIONS "
    listed += "NODE_PATH PERL5OPT PERL5LIB RUBYOPT RUBYLIB JAVA_TOOL_OPTIONS _JAVA_OPTIONS JDK_JAVA_OPTIONS "
    listed += "CLASSPATH GCONV_PATH PATH IFS PS4 SHELLOPTS"
    assert set(listed.split()) <= naming.DANGEROUS_VARIABLES


# ---------------------------------------------------------------- keys in messages (item 12.5)

KNOWN = frozenset({"value", "values", "secret", "optional"})


@pytest.mark.parametrize("typo, meant", [("secert", "secret"), ("valeus", "values"), ("optinal", "optional")])
def test_a_near_miss_identifier_is_named_with_its_suggestion(typo: str, meant: str) -> None:
    assert shape.describe_unknown_key(typo, KNOWN) == (True, f"unknown key, ignored; did you mean {meant!r}?")


@pytest.mark.parametrize("key", ["value:s3cr3t", "s3cr3t-value-1234", "Zx9qT2", "x" * 60, "value s3cr3t", 1234])
def test_a_key_that_may_be_a_value_is_described_never_quoted(key: object) -> None:
    shown_key, message = shape.describe_unknown_key(key, KNOWN)
    assert not shown_key and str(key) not in message and f"of {len(str(key))} characters" in message


def test_a_secret_bearing_mapping_never_names_a_key_nor_its_length() -> None:
    shown_key, message = shape.describe_unknown_key("secert", KNOWN, secret_bearing=True)
    assert not shown_key and "secert" not in message and "did you mean 'secret'?" in message
    shown_key, message = shape.describe_unknown_key("value:s3cr3t", KNOWN, secret_bearing=True)
    assert not shown_key and "s3cr3t" not in message and "12" not in message
    assert "starts with 'value:'" in message and "space after the colon" in message


def test_paths_describe_keys_that_do_not_look_like_names() -> None:
    assert shape.child("a", "settings.json") == "a.settings.json"
    assert shape.child("a", "Password:s3cr3t") == "a.<a key of 15 characters>"
    assert shape.child("a", "two words") == "a.<a key of 9 characters>"


def test_edit_distance_counts_a_transposition_once() -> None:
    assert shape.edit_distance("nmae", "name") == 1
    assert shape.edit_distance("connectionRefrences", "connectionReferences") == 1
    assert shape.near_miss("ab", frozenset({"id"})) is None  # two edits of a two-letter key is no typo


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aZ09 _-.\t\n\v\f\r!/\u00a0\u2028\u3000\ufeffé")), max_size=60))
def test_the_ascii_connection_name_rule_is_the_rule_on_ascii_text(raw: str) -> None:
    """grammar.connection_name_matches takes the cheaper ASCII-only pattern for ASCII text: it must
    accept exactly what the validator's full pattern accepts there (and the full one decides the rest)."""
    import re

    from launcher.manifest import grammar

    full = re.fullmatch(grammar._CONNECTION_NAME, raw) is not None
    assert grammar.connection_name_matches(raw) == full
    if raw.isascii():
        assert (re.fullmatch(grammar._CONNECTION_NAME_ASCII, raw) is not None) == full
