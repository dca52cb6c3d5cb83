"""Secret delivery with age to SSH keys, with keys made by ssh-keygen at run time."""

from __future__ import annotations

import base64
import secrets
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from jitflow.adapters.delivery import (
    ARMOR_BEGIN,
    ARMOR_END,
    certificate_marker,
    credentials_marker,
    decrypt_with_ssh_identity,
    encrypt_for_ssh_keys,
    parse_certificate_comment,
    parse_delivery_comment,
    render_certificate_comment,
    render_delivery_comment,
)
from jitflow.errors import DeliveryError, JitflowError
from jitflow.reporters.sync_notes import wrapping_hint


@dataclass(frozen=True)
class KeyPair:
    private: Path
    public: str


@dataclass(frozen=True)
class Keys:
    ed25519: KeyPair
    rsa: KeyPair
    other_ed25519: KeyPair
    ecdsa: KeyPair
    protected: KeyPair
    passphrase: str
    ca: KeyPair


def _keygen(directory: Path, name: str, key_type: str, passphrase: str = "") -> KeyPair:
    path = directory / name
    args = ["ssh-keygen", "-q", "-t", key_type, "-N", passphrase, "-C", name, "-f", str(path)]
    if key_type == "rsa":
        args[4:4] = ["-b", "2048"]
    subprocess.run(args, check=True, capture_output=True)
    return KeyPair(path, (directory / f"{name}.pub").read_text().strip())


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    directory = tmp_path_factory.mktemp("ssh-keys")
    passphrase = secrets.token_urlsafe(16)
    return Keys(
        ed25519=_keygen(directory, "alice_ed25519", "ed25519"),
        rsa=_keygen(directory, "alice_rsa", "rsa"),
        other_ed25519=_keygen(directory, "mallory_ed25519", "ed25519"),
        ecdsa=_keygen(directory, "alice_ecdsa", "ecdsa"),
        protected=_keygen(directory, "alice_protected", "ed25519", passphrase),
        passphrase=passphrase,
        ca=_keygen(directory, "ssh_ca", "ed25519"),
    )


def _wrapping_token() -> bytes:
    return ("hvs.CAES" + secrets.token_urlsafe(48)).encode()


SK_KEY = "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIE= sk"


# -- encryption and decryption --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_round_trip_with_each_supported_key_type(keys: Keys, kind: str) -> None:
    pair: KeyPair = getattr(keys, kind)
    token = _wrapping_token()
    armored = encrypt_for_ssh_keys(token, [pair.public])
    assert decrypt_with_ssh_identity(armored, pair.private) == token


def test_every_recipient_can_decrypt(keys: Keys) -> None:
    token = _wrapping_token()
    armored = encrypt_for_ssh_keys(token, [keys.ed25519.public, keys.rsa.public])
    assert decrypt_with_ssh_identity(armored, keys.ed25519.private) == token
    assert decrypt_with_ssh_identity(armored, keys.rsa.private) == token


def test_armor_follows_the_age_format_and_hides_the_plaintext(keys: Keys) -> None:
    token = _wrapping_token()
    armored = encrypt_for_ssh_keys(token, [keys.ed25519.public])
    lines = armored.rstrip("\n").split("\n")
    assert lines[0] == ARMOR_BEGIN
    assert lines[-1] == ARMOR_END
    body = lines[1:-1]
    assert all(len(line) == 64 for line in body[:-1])
    assert 0 < len(body[-1]) <= 64
    decoded = base64.b64decode("".join(body), validate=True)
    assert decoded.startswith(b"age-encryption.org/v1\n-> ssh-ed25519 ")
    assert token.decode() not in armored
    assert token not in decoded
    assert base64.b64encode(token).decode()[:20] not in armored


def test_wrong_identity_is_not_a_recipient(keys: Keys) -> None:
    armored = encrypt_for_ssh_keys(_wrapping_token(), [keys.ed25519.public])
    with pytest.raises(DeliveryError, match="not a recipient") as caught:
        decrypt_with_ssh_identity(armored, keys.other_ed25519.private)
    assert str(keys.other_ed25519.private) in str(caught.value)


def _flip_payload_character(armored: str) -> str:
    lines = armored.split("\n")
    target = len(lines) - 3  # a body line near the end: the encrypted payload, not the header
    line = lines[target]
    position = len(line) // 2
    replacement = "A" if line[position] != "A" else "B"
    lines[target] = line[:position] + replacement + line[position + 1 :]
    return "\n".join(lines)


def test_tampered_armor_is_refused(keys: Keys) -> None:
    token = _wrapping_token() * 4  # long enough that the payload spans several lines
    armored = encrypt_for_ssh_keys(token, [keys.ed25519.public])
    tampered = _flip_payload_character(armored)
    assert tampered != armored
    with pytest.raises(DeliveryError, match="damaged or incomplete"):
        decrypt_with_ssh_identity(tampered, keys.ed25519.private)


def test_truncated_armor_is_refused(keys: Keys) -> None:
    armored = encrypt_for_ssh_keys(_wrapping_token() * 4, [keys.ed25519.public])
    lines = armored.split("\n")
    truncated = "\n".join(lines[:2] + lines[-2:])
    with pytest.raises(DeliveryError, match="damaged or incomplete"):
        decrypt_with_ssh_identity(truncated, keys.ed25519.private)


def test_text_without_an_age_block_is_refused(keys: Keys) -> None:
    with pytest.raises(DeliveryError, match="no age-encrypted block"):
        decrypt_with_ssh_identity("hello", keys.ed25519.private)


def test_pasted_armor_with_crlf_and_indentation_still_decrypts(keys: Keys) -> None:
    token = _wrapping_token()
    armored = encrypt_for_ssh_keys(token, [keys.ed25519.public])
    pasted = "copied:\r\n" + "".join(f"  {line}\r\n" for line in armored.splitlines())
    assert decrypt_with_ssh_identity(pasted, keys.ed25519.private) == token


def test_unsupported_keys_are_skipped_when_a_usable_one_exists(keys: Keys) -> None:
    token = _wrapping_token()
    armored = encrypt_for_ssh_keys(token, [keys.ecdsa.public, SK_KEY, "", keys.ed25519.public])
    assert decrypt_with_ssh_identity(armored, keys.ed25519.private) == token


def test_only_unsupported_keys_names_their_types(keys: Keys) -> None:
    with pytest.raises(DeliveryError) as caught:
        encrypt_for_ssh_keys(_wrapping_token(), [keys.ecdsa.public, SK_KEY])
    message = str(caught.value)
    assert "ecdsa-sha2-nistp256" in message
    assert "sk-ssh-ed25519@openssh.com" in message
    assert "ssh-ed25519 and ssh-rsa" in message


def test_malformed_supported_key_is_reported(keys: Keys) -> None:
    with pytest.raises(DeliveryError, match=r"ssh-ed25519 \(malformed\)"):
        encrypt_for_ssh_keys(_wrapping_token(), ["ssh-ed25519 bm90LWEta2V5"])


def test_no_keys_at_all(keys: Keys) -> None:
    with pytest.raises(DeliveryError, match="no SSH public key"):
        encrypt_for_ssh_keys(_wrapping_token(), [])


def test_passphrase_protected_identity_explains_the_workaround(keys: Keys) -> None:
    armored = encrypt_for_ssh_keys(_wrapping_token(), [keys.protected.public])
    with pytest.raises(DeliveryError) as caught:
        decrypt_with_ssh_identity(armored, keys.protected.private)
    message = str(caught.value)
    assert "passphrase" in message
    assert "ssh-keygen -p" in message
    assert keys.passphrase not in message + repr(caught.value)


def test_missing_identity_file(keys: Keys, tmp_path: Path) -> None:
    armored = encrypt_for_ssh_keys(_wrapping_token(), [keys.ed25519.public])
    with pytest.raises(DeliveryError, match="does not exist"):
        decrypt_with_ssh_identity(armored, tmp_path / "id_missing")


def test_unsupported_identity_type(keys: Keys) -> None:
    armored = encrypt_for_ssh_keys(_wrapping_token(), [keys.ed25519.public])
    with pytest.raises(DeliveryError, match="type age cannot use"):
        decrypt_with_ssh_identity(armored, keys.ecdsa.private)


def test_public_key_given_as_identity(keys: Keys) -> None:
    armored = encrypt_for_ssh_keys(_wrapping_token(), [keys.ed25519.public])
    public_path = keys.ed25519.private.with_suffix(".pub")
    with pytest.raises(DeliveryError, match="is an SSH public key"):
        decrypt_with_ssh_identity(armored, public_path)


def test_errors_never_carry_key_material_or_plaintext(keys: Keys) -> None:
    token = _wrapping_token()
    armored = encrypt_for_ssh_keys(token, [keys.ed25519.public])
    private_text = keys.other_ed25519.private.read_text()
    private_body = "".join(private_text.splitlines()[1:-1])
    attempts = [
        (armored, keys.other_ed25519.private),
        (_flip_payload_character(armored), keys.ed25519.private),
    ]
    for blob, identity in attempts:
        with pytest.raises(JitflowError) as caught:
            decrypt_with_ssh_identity(blob, identity)
        shown = str(caught.value) + repr(caught.value) + repr(caught.value.__cause__)
        assert private_body[:40] not in shown
        assert token.decode() not in shown


# -- PR comments --------------------------------------------------------------------------


def test_delivery_comment_round_trip(keys: Keys) -> None:
    token = _wrapping_token()
    armored = encrypt_for_ssh_keys(token, [keys.ed25519.public])
    body = render_delivery_comment("2026-11-22-alice-orders", armored, expires_hint="1 hour")
    assert body.startswith(credentials_marker("2026-11-22-alice-orders") + "\n")
    assert "<!-- jitflow:credentials:2026-11-22-alice-orders -->" in body
    assert f"```text\n{armored}```" in body
    assert "jitflow creds 2026-11-22-alice-orders" in body
    assert "1 hour" in body
    parsed = parse_delivery_comment(body, "2026-11-22-alice-orders")
    assert parsed == armored
    assert decrypt_with_ssh_identity(parsed, keys.ed25519.private) == token


def test_the_delivery_hint_says_when_the_wrapping_token_and_the_grant_end_in_utc() -> None:
    ends = datetime(2026, 11, 23, 11, 0, tzinfo=timezone(timedelta(hours=2)))
    assert wrapping_hint(5400, ends) == (
        "the wrapping token expires in 1h30m; the grant ends at 2026-11-23T09:00:00Z"
    )


def test_delivery_comment_survives_crlf_edits(keys: Keys) -> None:
    armored = encrypt_for_ssh_keys(_wrapping_token(), [keys.ed25519.public])
    body = render_delivery_comment("req-1", armored, expires_hint="1h").replace("\n", "\r\n")
    assert parse_delivery_comment(body, "req-1") == armored


def test_parse_only_matches_its_own_request(keys: Keys) -> None:
    armored = encrypt_for_ssh_keys(_wrapping_token(), [keys.ed25519.public])
    body = render_delivery_comment("req-1", armored, expires_hint="1h")
    assert parse_delivery_comment(body, "req-10") is None
    assert parse_delivery_comment(body, "req") is None
    assert parse_delivery_comment("just a review comment", "req-1") is None
    quoted = "\n".join(f"> {line}" for line in body.splitlines())
    assert parse_delivery_comment(quoted, "req-1") is None


def test_marker_without_block_parses_to_none() -> None:
    assert parse_delivery_comment(credentials_marker("req-1") + "\nnothing here", "req-1") is None


def test_request_ids_that_could_break_the_marker_are_refused(keys: Keys) -> None:
    armored = encrypt_for_ssh_keys(_wrapping_token(), [keys.ed25519.public])
    for bad in ("x -->", "a\nb", "", "../x"):
        with pytest.raises(DeliveryError, match="not a valid request id"):
            render_delivery_comment(bad, armored, expires_hint="1h")


def test_render_refuses_text_that_is_not_age_armor() -> None:
    with pytest.raises(DeliveryError, match="no age-encrypted block"):
        render_delivery_comment("req-1", "hvs.not-encrypted", expires_hint="1h")


def _sign(keys: Keys, tmp_path: Path) -> str:
    public_path = tmp_path / "user.pub"
    public_path.write_text(keys.ed25519.public + "\n")
    ca = str(keys.ca.private)
    args = ["ssh-keygen", "-q", "-s", ca, "-I", "req-1", "-n", "alice", "-V", "+30m"]
    subprocess.run([*args, str(public_path)], check=True, capture_output=True)
    return (tmp_path / "user-cert.pub").read_text()


def test_certificate_comment_round_trip(keys: Keys, tmp_path: Path) -> None:
    certificate = _sign(keys, tmp_path)
    body = render_certificate_comment("req-1", certificate)
    assert body.startswith(certificate_marker("req-1") + "\n")
    assert f"```text\n{certificate.strip()}\n```" in body
    assert "jitflow creds req-1" in body
    assert parse_certificate_comment(body, "req-1") == certificate.strip()
    assert parse_certificate_comment(body, "req-2") is None


def test_certificate_comment_refuses_anything_but_a_certificate(keys: Keys) -> None:
    private_text = keys.ed25519.private.read_text()
    for bad in (private_text, keys.ed25519.public, "ssh-ed25519-cert-v01@openssh.com AAAA\nx"):
        with pytest.raises(DeliveryError, match="not a one-line OpenSSH certificate") as caught:
            render_certificate_comment("req-1", bad)
        assert private_text.splitlines()[1] not in str(caught.value)
