"""Anonymization rules: parsed strictly, deterministic under the secret, shape-keeping, and
refusing a schema whose text columns have no rule."""

from __future__ import annotations

import datetime

import pytest

from migrations_gate.runner.anonymize import Rule, RulesError, parse_rules, unruled_columns

SECRET = b"s3cret"
RULES = """
shift_days: 30
columns:
  users.email: email
  users.name: name
  users.bio: text
  users.token: hash
  users.password: null
  users.created: shift
  users.status: keep
  users.kind: {constant: guest}
  orders.customer_email: email
"""
SCHEMA = {
    "users": [("id", "int"), ("email", "text"), ("name", "text"), ("bio", "text"),
              ("token", "text"), ("password", "text"), ("created", "timestamp"),
              ("status", "text"), ("kind", "text")],
    "orders": [("id", "int"), ("customer_email", "text"), ("total", "decimal")],
}  # fmt: skip


def test_each_rule_replaces_a_value_keeping_its_length_and_shape() -> None:
    rules = parse_rules(RULES)
    email = rules.apply("users", "email", "Jane.Doe@mail.example.com", SECRET)
    assert email != "Jane.Doe@mail.example.com" and len(email) == 25
    local, domain = email.split("@")
    assert (
        len(local) == 8 and local[4] == "." and domain.endswith(".com") and "example" not in email
    )
    name = rules.apply("users", "name", "Jane O'Neil", SECRET)
    assert len(name) == 11 and name[4] == " " and name[6] == "'" and name[0].isupper()
    assert name != "Jane O'Neil"
    bio = rules.apply("users", "bio", "Call 555-0100, ask for Bob.", SECRET)
    assert len(bio) == 27 and bio[8] == "-" and bio[4] == " " and "Bob" not in bio
    token = rules.apply("users", "token", "abc", SECRET)
    assert len(token) == 8 and int(token, 16) >= 0  # hex, at least 8 characters
    assert rules.apply("users", "password", "hunter2", SECRET) is None
    assert rules.apply("users", "status", "active", SECRET) == "active"
    assert rules.apply("users", "kind", "admin", SECRET) == "guest"
    assert rules.apply("users", "unnamed_column", "kept", SECRET) == "kept"
    assert rules.apply("users", "email", None, SECRET) is None  # NULL stays NULL


def test_equal_values_stay_equal_across_columns_and_another_secret_gives_others() -> None:
    """A join on e-mail addresses still joins after anonymization."""
    rules = parse_rules(RULES)
    a = rules.apply("users", "email", "bob@corp.io", SECRET)
    assert a == rules.apply("orders", "customer_email", "bob@corp.io", SECRET)
    assert a != rules.apply("orders", "customer_email", "rob@corp.io", SECRET)
    assert a != rules.apply("users", "email", "bob@corp.io", b"other")
    fakes = {rules.apply("users", "name", f"Person {i}", SECRET) for i in range(200)}
    assert len(fakes) > 190  # distinct values mostly stay distinct


def test_dates_move_by_one_offset_keeping_order_and_intervals() -> None:
    rules = parse_rules(RULES)
    a, b = datetime.datetime(2024, 1, 1, 12), datetime.datetime(2024, 3, 1, 8)
    sa, sb = (rules.apply("users", "created", v, SECRET) for v in (a, b))
    assert sa != a and abs((sa - a).days) <= 30 and sb - sa == b - a
    day = rules.apply("users", "created", datetime.date(2024, 1, 1), SECRET)
    assert day - datetime.date(2024, 1, 1) == (sa - a)
    # SQLite keeps them as text: shifted the same, in the same format
    assert rules.apply("users", "created", "2024-01-01 12:00:00", SECRET) == sa.isoformat(sep=" ")
    assert rules.apply("users", "created", "2024-01-01", SECRET) == day.isoformat()
    with pytest.raises(RulesError, match="shift applies to dates"):
        rules.apply("users", "created", "not a date", SECRET)


def test_strict_mode_lists_the_text_columns_without_a_rule() -> None:
    schema = {**SCHEMA, "notes": [("id", "int"), ("body", "text"), ("meta", None)]}
    assert unruled_columns(parse_rules(RULES), schema) == ["notes.body", "notes.meta"]
    assert unruled_columns(parse_rules(RULES), SCHEMA) == []
    lax = parse_rules("strict: false\ncolumns: {}\n")
    assert unruled_columns(lax, schema) == []
    assert parse_rules("columns:\n  Users.EMAIL: keep\n").rule("users", "email") == Rule("keep")
    assert parse_rules("columns:\n  users.emial: hash\n").unused(SCHEMA) == ["users.emial"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns:\n  users.email: emial\n", "users.email: unknown rule 'emial'"),
        ("columns:\n  users: hash\n", "'users': a rule is named table.column"),
        ("columns:\n  a.b.c: hash\n", "'a.b.c': a rule is named table.column"),
        ("columns:\n  a.b: {constant: 1, x: 2}\n", "a.b: a mapping rule is {constant: VALUE}"),
        ("columns:\n  a.b: {constant: [1, 2]}\n", "a.b: a constant is a single value"),
        ("columns:\n  a.b: hash\n  A.B: keep\n", "A.B: two rules for one column"),
        ("columns: [a.b]\n", "`columns` must be a mapping"),
        ("- a\n- b\n", "must be a mapping with `columns`"),
        ("strict: maybe\n", "`strict` must be true or false"),
        ("shift_days: -1\n", "`shift_days` must be a whole number"),
        ("shift_days: 1e9\n", "`shift_days` must be a whole number"),
        ("colums: {}\n", "unknown key(s) colums"),
        ("columns:\n  a.b: hash\n c", "not valid YAML"),  # truncated
        ("columns: {a.b: hash", "not valid YAML at line 1"),  # truncated flow mapping
        ("!!python/object/apply:os.system ['touch /tmp/x']\n", "not valid YAML"),  # malicious
        ("columns:\n  a.b: !!python/name:os.system\n", "not valid YAML"),
        (b"\xff\xfe\x00binary", "not UTF-8 text"),
        ("columns: \x00\n", "not text"),
        (b"x" * 1_000_001, "over 1000000 bytes"),
    ],
)
def test_bad_rules_are_refused_in_one_sentence(text: str | bytes, message: str) -> None:
    with pytest.raises(RulesError) as raised:
        parse_rules(text)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_empty_rules_are_strict_with_no_rule() -> None:
    for text in ("", b"", "# nothing\n", "columns:\n"):
        rules = parse_rules(text)
        assert rules.strict and not rules.columns
        assert unruled_columns(rules, {"t": [("a", "text"), ("b", "int")]}) == ["t.a"]
