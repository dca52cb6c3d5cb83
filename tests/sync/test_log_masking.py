"""Secrets registered with the Actions log masker before anything could log them.

The runner reads `::add-mask::VALUE` one line at a time: a value spanning lines (a PEM
private key, a certificate chain) registers only its first line, and every later line is
printed to the job log as plain output. Its data is unescaped (`%25`, `%0D`, `%0A`) before
it is registered. No server: the runner's reading is modelled below as GitHub documents it.
"""

from __future__ import annotations

import io
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jitflow.usecases.sync.recording import mask_for_actions


def _throwaway_key() -> str:
    """A PEM private key made for this run (a few dozen lines), never a key from anywhere."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return pem.decode()


KEY = _throwaway_key()


def _runner(stdout: str) -> tuple[list[str], list[str]]:
    """What the Actions runner makes of `stdout`: (registered masks, lines shown in the log)."""
    masks: list[str] = []
    shown: list[str] = []
    for line in stdout.splitlines():
        if line.startswith("::add-mask::"):
            data = line.removeprefix("::add-mask::")
            data = data.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%").strip()
            if data:
                masks.append(data)
        else:
            shown.append(line)
    for mask in masks:
        shown = [line.replace(mask, "***") for line in shown]
    return masks, shown


def _masked(monkeypatch: pytest.MonkeyPatch, *values: str) -> tuple[list[str], list[str]]:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    mask_for_actions({"GITHUB_ACTIONS": "true"}, *values)
    return _runner(out.getvalue())


def test_every_line_of_a_multi_line_secret_is_masked_and_none_is_printed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    chain = "-----BEGIN CERTIFICATE-----\nMIIB9TCCAZugAwIBAgIU\n-----END CERTIFICATE-----"
    masks, shown = _masked(monkeypatch, KEY, chain, "s.token\r\nsecond")
    secret_lines = {ln.strip() for v in (KEY, chain, "s.token\r\nsecond") for ln in v.splitlines()}
    secret_lines.discard("")
    assert not [line for line in shown if line.strip()], shown
    assert secret_lines <= set(masks)


def test_a_percent_sequence_in_a_secret_is_masked_as_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    masks, shown = _masked(monkeypatch, "pa%0Ass%25word")
    assert masks == ["pa%0Ass%25word"]
    assert shown == []


def test_outside_actions_nothing_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    mask_for_actions({}, KEY)
    assert out.getvalue() == ""
