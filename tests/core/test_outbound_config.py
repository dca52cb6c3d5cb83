"""`.jitflow/outbound.yaml`: what it accepts, where it says a mistake is; batches; signatures;
Slack text made inert. Pure, no server."""

from __future__ import annotations

import json

import pytest

from jitflow.core.outbound import (
    Format,
    SecretRef,
    batches,
    delivery_id,
    parse_outbound,
    sign,
    verify,
)
from jitflow.reporters.escape import ZWJ, slack_text

GOOD = b"""\
endpoints:
  - name: siem
    url: https://splunk.example.com:8088/services/collector/event
    format: splunk-hec
    token: {env: SPLUNK_HEC_TOKEN}
    index: security
  - name: hooks
    url: https://hooks.example.com/jitflow
    format: json
    secret: {vault: jitflow-kv/data/outbound, key: hmac}
    timeout: 5s
    batch: 10
  - name: chat
    url: {env: JITFLOW_SLACK_WEBHOOK_URL}
    format: slack
"""


def test_a_good_file_gives_its_endpoints() -> None:
    config = parse_outbound(GOOD)
    assert config.findings == ()
    siem, hooks, chat = config.endpoints
    assert (siem.format, siem.token, siem.index) == (
        Format.HEC,
        SecretRef(env="SPLUNK_HEC_TOKEN"),
        "security",
    )
    assert (hooks.secret, hooks.timeout, hooks.batch) == (
        SecretRef(vault="jitflow-kv/data/outbound", key="hmac"),
        5.0,
        10,
    )
    assert chat.url == "" and chat.url_secret == SecretRef(env="JITFLOW_SLACK_WEBHOOK_URL")
    assert chat.batch == 20


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        (b"endpoints:\n  - name: a\n    url: https://x.example\n    format: json\n", 2, "secret"),
        (
            b"endpoints:\n  - name: a\n    url: https://x.example\n    format: xml\n"
            b"    secret: {env: K}\n",
            4,
            "xml",
        ),
        (
            b"endpoints:\n  - name: a\n    url: https://hooks.slack.com/services/T/B/X\n"
            b"    format: slack\n",
            3,
            "Slack incoming-webhook URL is a secret",
        ),
        (
            b"endpoints:\n  - name: a\n    url: http://siem.example.com/in\n    format: json\n"
            b"    secret: {env: K}\n    allow_http: true\n",
            3,
            "loopback address only",
        ),
        (
            b"endpoints:\n  - name: a\n    url: http://127.0.0.1:9/in\n    format: json\n"
            b"    secret: {env: K}\n",
            3,
            "https://",
        ),
        (
            b"endpoints:\n  - name: a\n    url: https://x.example\n    format: json\n"
            b"    secret: {env: K, key: k}\n",
            5,
            "secret",
        ),
        (
            b"endpoints:\n  - name: a\n    url: https://x.example\n    format: json\n"
            b"    secret: {env: K}\n    hmac: oops\n",
            6,
            "hmac",
        ),
        (
            b"endpoints:\n  - name: a\n    url: https://x.example\n    format: json\n"
            b"    secret: {env: K}\n  - name: a\n    url: https://y.example\n"
            b"    format: ocsf\n    secret: {env: K}\n",
            6,
            "names must differ",
        ),
        (
            b"endpoints:\n  - name: a\n    url: https://u:p@x.example\n    format: json\n"
            b"    secret: {env: K}\n",
            3,
            "credentials",
        ),
    ],
)
def test_each_mistake_is_named_at_its_line(text: bytes, line: int, says: str) -> None:
    config = parse_outbound(text)
    assert config.endpoints == ()
    assert config.findings, text
    finding = config.findings[0]
    assert finding.path == ".jitflow/outbound.yaml"
    assert (finding.line, says.lower() in finding.message.lower()) == (line, True), finding


def test_http_to_loopback_needs_the_flag_and_then_passes() -> None:
    text = (
        b"endpoints:\n  - name: a\n    url: http://127.0.0.1:9/in\n    format: json\n"
        b"    secret: {env: K}\n    allow_http: true\n"
    )
    assert parse_outbound(text).endpoints[0].allow_http


def test_batches_hold_whole_commits_and_end_at_a_commit() -> None:
    groups = [("c1", [1, 2]), ("c2", []), ("c3", [3]), ("c4", [4, 5, 6]), ("c5", [])]
    assert batches(groups, 3) == [("c3", [1, 2, 3]), ("c4", [4, 5, 6])]
    assert batches(groups, 2) == [("c1", [1, 2]), ("c4", [3, 4, 5, 6])]
    assert batches(groups, 100) == [("c4", [1, 2, 3, 4, 5, 6])]
    assert batches([("c1", [])], 5) == []


def test_a_batch_sent_again_has_the_same_delivery_id() -> None:
    assert delivery_id("siem", ["a", "b"]) == delivery_id("siem", ["a", "b"])
    assert delivery_id("siem", ["a", "b"]) != delivery_id("siem", ["a"])
    assert delivery_id("siem", ["a"]) != delivery_id("other", ["a"])


def test_signatures_verify_only_for_the_same_key_body_and_a_fresh_time() -> None:
    body = json.dumps({"events": [1]}).encode()
    header = sign(b"k3y", 1_800_000_000, body)
    assert header.startswith("t=1800000000,v1=")
    assert verify(b"k3y", header, body, now=1_800_000_100)
    assert not verify(b"other", header, body, now=1_800_000_100)
    assert not verify(b"k3y", header, body + b" ", now=1_800_000_100)
    assert not verify(b"k3y", header, body, now=1_800_000_000 + 301)  # a replay, too late
    forged = header.replace("t=1800000000", "t=1800000200")  # a fresher time, same mac
    assert not verify(b"k3y", forged, body, now=1_800_000_200)


def test_slack_text_cannot_mention_link_or_format() -> None:
    hostile = "<!channel> @here <https://evil.example|click> see evil.example\nnext"
    text = slack_text(hostile)
    assert "<" not in text and ">" not in text
    assert "&lt;!" + ZWJ + "channel&gt;" in text
    assert "@" + ZWJ + "here" in text
    assert "https" + ZWJ + ":" in text and "evil" + ZWJ + ".example" in text
    assert "\n" not in text


def test_a_token_with_a_line_break_is_refused_without_echoing_it() -> None:
    from jitflow.adapters.outbound_http import OutboundError, Target, post

    target = Target("siem", "https://127.0.0.1:9/services/collector/event", 1.0)
    with pytest.raises(OutboundError) as caught:
        post(target, b"{}", {"Authorization": "Splunk s3cret\r\nX-Injected: 1"})
    assert caught.value.message == "endpoint siem: its URL or token is malformed"
