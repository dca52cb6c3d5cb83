"""Strict YAML: every unsafe or ambiguous construct is refused at its line and column."""

from __future__ import annotations

import pytest

from jitflow.core.loading import parse_policy, parse_request
from jitflow.core.model import Finding
from jitflow.core.yamlio import MAX_BYTES, MAX_DEPTH, YamlError, dump, load_yaml
from tests.gitrepo import example_policy_files

HEAD = "policy: staging-readonly\nrequester: alice\n"
PATH = "requests/alice-x.yaml"


def findings_of(content: str | bytes) -> list[Finding]:
    raw = content.encode() if isinstance(content, str) else content
    return list(parse_request(raw, PATH).findings)


def only(findings: list[Finding], code: str) -> Finding:
    assert [f.code for f in findings] == [code], findings
    assert findings[0].path == PATH
    return findings[0]


@pytest.mark.parametrize(
    ("content", "line", "column", "words"),
    [
        (
            HEAD + "reason: a\nrequester: bob\n",
            4,
            1,
            "duplicate key 'requester' (first defined at line 2)",
        ),
        (HEAD + "reason: &why fix the build\n", 3, 9, "anchors"),
        ("reason: fix\n" + HEAD.replace("alice", "*who"), 3, 12, "aliases"),
        (HEAD + "reason: fix\n<<: {duration: 1h}\n", 4, 1, "merge keys"),
        (HEAD + "reason: !!str fix\n", 3, 9, "explicit tags"),
        (HEAD + "reason: !!python/object:os.system ls\n", 3, 9, "explicit tags"),
        (HEAD + "reason: fix\n---\npolicy: prod-ssh\n", 4, 1, "only one YAML document"),
        (HEAD + "reason: fix\nduration: .nan\n", 4, 11, "not a finite number"),
        (HEAD + "reason: fix\nduration: -.inf\n", 4, 11, "not a finite number"),
        (HEAD + "reason: [unclosed\n", 4, 1, ""),
    ],
    ids=[
        "duplicate-key",
        "anchor",
        "alias",
        "merge-key",
        "tag-str",
        "tag-python",
        "two-documents",
        "nan",
        "inf",
        "syntax",
    ],
)
def test_refused_constructs_are_located(content: str, line: int, column: int, words: str) -> None:
    finding = only(findings_of(content), "yaml")
    assert (finding.line, finding.column) == (line, column), finding
    assert words in finding.message


def test_non_utf8_is_located_at_the_bad_byte() -> None:
    finding = only(findings_of(HEAD.encode() + b"reason: caf\xe9\n"), "yaml")
    assert (finding.line, finding.column) == (3, 12)
    assert "UTF-8" in finding.message


def test_oversized_file_is_refused_before_parsing() -> None:
    content = HEAD + "reason: " + "x" * MAX_BYTES + "\n"
    finding = only(findings_of(content), "yaml")
    assert (finding.line, finding.column) == (1, 1)
    assert str(MAX_BYTES) in finding.message


def test_depth_bomb_is_refused() -> None:
    depth = MAX_DEPTH + 5
    content = HEAD + "reason: " + "[" * depth + "]" * depth + "\n"
    finding = only(findings_of(content), "yaml")
    assert finding.line == 3
    assert f"deeper than {MAX_DEPTH}" in finding.message


def test_a_billion_laughs_never_expands() -> None:
    content = 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: [*b,*b]\n'
    with pytest.raises(YamlError) as caught:
        load_yaml(content.encode(), "bomb.yaml")
    assert caught.value.line == 1


@pytest.mark.parametrize("word", ["yes", "on", "no", "off", "y"])
def test_yaml11_booleans_stay_strings_and_the_schema_says_so(word: str) -> None:
    finding = only(findings_of(HEAD + f"reason: fix\nbreak_glass: {word}\n"), "schema")
    assert (finding.line, finding.column) == (4, 14)
    assert "must be a boolean" in finding.message
    assert "write true or false" in finding.message


def test_sexagesimal_duration_is_not_ninety_minutes() -> None:
    loaded = parse_request((HEAD + "reason: fix\nduration: 1:30\n").encode(), PATH)
    finding = only(list(loaded.findings), "duration-invalid")
    assert (finding.line, finding.column) == (4, 11)
    assert loaded.value.duration is None
    assert loaded.value.duration_text == "1:30"


def test_bare_date_where_a_string_is_expected_is_a_string() -> None:
    loaded = parse_request(
        (HEAD + "reason: 2026-11-22\nticket: 2026-11-22T10:00:00Z\n").encode(), PATH
    )
    assert loaded.findings == ()
    assert loaded.value.reason == "2026-11-22"
    assert loaded.value.ticket == "2026-11-22T10:00:00Z"


def test_number_where_a_string_is_expected_is_a_schema_error() -> None:
    finding = only(findings_of(HEAD + "reason: fix\nticket: 4211\n"), "schema")
    assert (finding.line, finding.column) == (4, 9)
    assert "must be a string, got a number 4211" in finding.message


def test_unknown_request_key_is_located() -> None:
    finding = only(findings_of(HEAD + "reason: fix\nbreakglass: true\n"), "schema")
    assert finding.line == 4
    assert "unknown key 'breakglass'" in finding.message


def test_start_must_be_a_real_date_time() -> None:
    finding = only(findings_of(HEAD + "reason: fix\nstart: '2026-13-45T10:00:00Z'\n"), "schema")
    assert (finding.line, finding.column) == (4, 8)
    assert "not a date-time" in finding.message


def test_start_unquoted_is_read_as_a_time() -> None:
    loaded = parse_request((HEAD + "reason: fix\nstart: 2026-11-23T09:00:00Z\n").encode(), PATH)
    assert loaded.findings == ()
    assert loaded.value.start is not None
    assert loaded.value.start.isoformat() == "2026-11-23T09:00:00+00:00"


def test_start_without_utc_zone_is_refused() -> None:
    finding = only(
        findings_of(HEAD + "reason: fix\nstart: '2026-11-23T09:00:00+02:00'\n"), "schema"
    )
    assert finding.line == 4


def test_empty_request_file() -> None:
    finding = only(findings_of(""), "schema")
    assert "empty" in finding.message


POLICY = example_policy_files()["policies/orders-db-write.yaml"].decode()


def test_a_typo_in_a_policy_makes_it_unusable_not_weaker() -> None:
    typo = POLICY.replace("ticket: {required: true,", "ticket: {requird: true,")
    assert typo != POLICY
    loaded = parse_policy(typo.encode(), "policies/orders-db-write.yaml")
    assert loaded.value is None
    (finding,) = loaded.findings
    assert finding.code == "schema"
    assert "unknown key 'requird'" in finding.message
    assert (
        finding.line
        == typo.splitlines().index(next(x for x in typo.splitlines() if "requird" in x)) + 1
    )


def test_a_misspelt_top_level_policy_key_is_refused_at_its_line() -> None:
    typo = POLICY.replace("limits:", "limit:")
    loaded = parse_policy(typo.encode(), "policies/orders-db-write.yaml")
    assert loaded.value is None
    lines = typo.splitlines()
    expected = next(i for i, x in enumerate(lines, 1) if x.startswith("limit:"))
    assert [f.line for f in loaded.findings] == [expected]


def test_policy_name_must_match_its_file() -> None:
    loaded = parse_policy(POLICY.encode(), "policies/other.yaml")
    assert loaded.value is None
    assert [f.code for f in loaded.findings] == ["policy-invalid"]
    assert loaded.findings[0].line == 2


def test_policy_default_longer_than_max_is_invalid() -> None:
    bad = POLICY.replace("duration: {default: 30m, max: 2h}", "duration: {default: 3h, max: 2h}")
    loaded = parse_policy(bad.encode(), "policies/orders-db-write.yaml")
    assert loaded.value is None
    assert [f.code for f in loaded.findings] == ["policy-invalid"]


def test_dump_reads_back_to_the_same_data() -> None:
    data = {"policy": "x", "reason": "yes", "duration": "1:30", "ticket": "4211", "n": 1}
    assert load_yaml(dump(data).encode(), "x.yaml").data == data
