"""Outbound HTTP against a local HTTPS receiver, without a sync: a receiver that rate-limits
(429 with Retry-After) is asked again within a bounded wait, or left for the next run; an
egress proxy from HTTPS_PROXY tunnels the batch (CONNECT) unless NO_PROXY exempts the host."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from jitflow.adapters.outbound_http import (
    MAX_WAIT,
    OutboundError,
    Pacing,
    Target,
    post,
    proxy_for,
)
from tests.sync.connect_proxy import connect_proxy
from tests.sync.outbound_receiver import Receiver, https_receiver

PATH = "/ocsf"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Receiver, str]]:
    directory = tmp_path_factory.mktemp("receiver")
    with https_receiver(directory, {}, "") as (receiver, ca_pem):
        yield receiver, ca_pem.decode()


def target(served: tuple[Receiver, str], proxy: str | None = None) -> Target:
    receiver, ca = served
    return Target("siem", f"{receiver.url}{PATH}", 5.0, ca, proxy=proxy)


def sends(receiver: Receiver, delivery: str) -> list[int]:
    return [r.answered for r in receiver.on(PATH) if r.delivery == delivery]


def test_a_rate_limited_batch_is_sent_again_after_retry_after(
    served: tuple[Receiver, str],
) -> None:
    receiver, _ = served
    receiver.modes[PATH], receiver.retry_after = "busy-once", "7"
    waits: list[float] = []
    pacing = Pacing(sleep=waits.append)
    assert post(target(served), b"{}", {"Jitflow-Delivery": "d-once"}, pacing) == 200
    assert waits == [7.0] and pacing.budget == MAX_WAIT - 7
    assert sends(receiver, "d-once") == [429, 200]


def test_an_http_date_retry_after_is_understood(served: tuple[Receiver, str]) -> None:
    receiver, _ = served
    when = datetime.now(UTC) + timedelta(seconds=20)
    receiver.modes[PATH], receiver.retry_after = "busy-once", format_datetime(when, usegmt=True)
    waits: list[float] = []
    post(target(served), b"{}", {"Jitflow-Delivery": "d-date"}, Pacing(sleep=waits.append))
    assert len(waits) == 1 and 10 < waits[0] <= 21


def test_a_wait_past_the_budget_is_left_to_the_next_run(served: tuple[Receiver, str]) -> None:
    receiver, _ = served
    receiver.modes[PATH], receiver.retry_after = "busy", "3600"
    waits: list[float] = []
    with pytest.raises(OutboundError) as caught:
        post(target(served), b"{}", {"Jitflow-Delivery": "d-long"}, Pacing(sleep=waits.append))
    assert caught.value.message == (
        "endpoint siem: answered HTTP 429, Retry-After 3600s; the next run sends the batch again"
    )
    assert waits == [] and sends(receiver, "d-long") == [429]
    receiver.modes[PATH] = "ok"


def test_the_waits_of_one_run_are_bounded(served: tuple[Receiver, str]) -> None:
    """Always busy: a few tries within the budget, never more, never longer."""
    receiver, _ = served
    receiver.modes[PATH], receiver.retry_after = "busy", "12"
    waits: list[float] = []
    pacing = Pacing(sleep=waits.append)
    for delivery in ("d-b1", "d-b2"):
        with pytest.raises(OutboundError):
            post(target(served), b"{}", {"Jitflow-Delivery": delivery}, pacing)
    assert sum(waits) <= MAX_WAIT and waits == [12.0, 12.0]
    assert sends(receiver, "d-b1") == [429, 429, 429] and sends(receiver, "d-b2") == [429]
    receiver.modes[PATH] = "ok"


def test_https_proxy_tunnels_the_batch_and_no_proxy_bypasses_it(
    served: tuple[Receiver, str],
) -> None:
    receiver, _ = served
    host_port = receiver.url.removeprefix("https://")
    with connect_proxy() as (proxy_url, tunnels):
        environ = {"HTTPS_PROXY": proxy_url}
        proxy = proxy_for(receiver.url, environ)
        assert proxy == proxy_url
        assert post(target(served, proxy), b"{}", {"Jitflow-Delivery": "d-proxy"}) == 200
        assert tunnels == [host_port]  # CONNECT to the receiver; TLS ran inside the tunnel
        assert sends(receiver, "d-proxy") == [200]
        for no_proxy in ("127.0.0.1", "*", f"example.com,{host_port}"):
            assert proxy_for(receiver.url, {**environ, "no_proxy": no_proxy}) is None
        post(target(served, None), b"{}", {"Jitflow-Delivery": "d-direct"})
        assert tunnels == [host_port]


def test_proxy_variables_follow_curl_conventions() -> None:
    url = "https://siem.example.com/x"
    assert proxy_for(url, {}) is None
    assert proxy_for(url, {"HTTP_PROXY": "http://p:1"}) is None  # http_proxy is for http://
    assert proxy_for(url, {"https_proxy": "http://a:1", "HTTPS_PROXY": "http://b:1"}) == (
        "http://a:1"
    )
    assert proxy_for(url, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".example.com"}) is None
    assert proxy_for(url, {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "other.com"}) == "http://p:1"


def test_a_dead_proxy_is_a_delivery_error_without_the_url(served: tuple[Receiver, str]) -> None:
    with pytest.raises(OutboundError) as caught:
        post(target(served, "http://127.0.0.1:9"), b"{}", {})
    assert "siem" in caught.value.message and "127.0.0.1" not in caught.value.message
