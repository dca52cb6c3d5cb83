"""`jitflow creds` prints `export` lines meant for `eval "$(jitflow creds ID)"`: the values are
quoted, and a field name that isn't a plain variable name, or that the shell or a tool acts on,
is refused rather than exported (a wrapped secret's field names are data too)."""

from __future__ import annotations

import subprocess

import pytest

from jitflow.errors import UsageError
from jitflow.reporters.creds import render_credentials


@pytest.mark.parametrize(
    "field",
    [
        "prompt_command",  # runs at every prompt
        "ld_preload",  # loaded into every program
        "path",
        "bash_env",
        "ps1",  # prompt expansion runs $(...)
        "x=1;$'\\143\\165\\162\\154' evil|sh;y",  # octal escapes survive upper()
        "a b",
        "git_ssh_command",
        "vault_addr",
        "",
    ],
)
def test_a_field_the_shell_would_act_on_is_refused(field: str) -> None:
    with pytest.raises(UsageError, match="use --format json"):
        render_credentials({field: "touch owned", "token": "t"}, "env")


def test_the_refusal_never_shows_a_value() -> None:
    with pytest.raises(UsageError) as raised:
        render_credentials({"ld_preload": "s3cret-value"}, "env")
    assert "s3cret-value" not in raised.value.message


def test_ordinary_fields_are_exported_and_eval_safely() -> None:
    shown = render_credentials(
        {"token": "t'$(touch x)", "private_key": "-----BEGIN-----\nabc", "serial_number": "1"},
        "env",
    )
    assert shown.splitlines()[0] == "export PRIVATE_KEY='-----BEGIN-----"
    script = shown + 'printf "%s|%s" "$VAULT_TOKEN" "$SERIAL_NUMBER"'
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout == "t'$(touch x)|1"


def test_pgpass_escapes_backslash_and_colon_and_refuses_a_line_break() -> None:
    line = render_credentials({"username": "v-a:b", "password": "p\\w:d"}, "pgpass")
    assert line == "*:*:*:v-a\\:b:p\\\\w\\:d\n"  # PostgreSQL: `\` and `:` escaped with `\`
    with pytest.raises(UsageError, match="line break"):
        render_credentials({"username": "u\n*:*:*:*:x", "password": "p"}, "pgpass")
