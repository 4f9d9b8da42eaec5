"""Which hosts and addresses Postlane refuses to connect to for a tenant (issue 12, items 5
and 10): every spelling of a non-public address that a URL parser or inet_aton accepts is
recognised without DNS, and the headers a tenant may add to a webhook POST."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from postlane.config import Settings
from postlane.domain import network
from postlane.domain.network import AddressKind
from postlane.runtime import Postlane

K = AddressKind

#: host as written in a URL -> what it is, without asking DNS.
SPELLINGS: list[tuple[str, AddressKind]] = [
    # loopback in every inet_aton / WHATWG form
    ("127.0.0.1", K.LOOPBACK), ("127.1", K.LOOPBACK), ("127.0.1", K.LOOPBACK),
    ("127.255.255.254", K.LOOPBACK), ("2130706433", K.LOOPBACK), ("0177.0.0.1", K.LOOPBACK),
    ("0177.1", K.LOOPBACK), ("0x7f.1", K.LOOPBACK), ("0X7F.0.0.1", K.LOOPBACK),
    ("0x7f000001", K.LOOPBACK), ("017700000001", K.LOOPBACK), ("0x7f.0.0x0.1", K.LOOPBACK),
    ("127.0.0.1.", K.LOOPBACK), ("%31%32%37.0.0.1", K.LOOPBACK),
    ("\uff11\uff12\uff17.\uff10.\uff10.\uff11", K.LOOPBACK),  # full-width digits
    ("127\u30020\u30020\u30021", K.LOOPBACK),  # ideographic full stops
    ("localhost", K.LOOPBACK), ("LOCALHOST", K.LOOPBACK), ("localhost.", K.LOOPBACK),
    ("api.localhost", K.LOOPBACK), ("a.b.localhost.", K.LOOPBACK),
    ("localhost.localdomain", K.LOOPBACK), ("ip6-localhost", K.LOOPBACK),
    ("[::1]", K.LOOPBACK), ("::1", K.LOOPBACK), ("[0:0:0:0:0:0:0:1]", K.LOOPBACK),
    ("[::ffff:127.0.0.1]", K.LOOPBACK), ("[::ffff:7f00:1]", K.LOOPBACK),  # IPv4-mapped
    ("[::ffff:0:127.0.0.1]", K.LOOPBACK),  # IPv4-translated (RFC 2765)
    ("[::127.0.0.1]", K.LOOPBACK),  # IPv4-compatible (deprecated, still parsed)
    ("[64:ff9b::127.0.0.1]", K.LOOPBACK),  # NAT64 well-known prefix
    ("[2002:7f00:1::]", K.LOOPBACK),  # 6to4 of 127.0.0.1
    # private: RFC 1918 and unique local IPv6
    ("10.0.0.1", K.PRIVATE), ("10.1", K.PRIVATE), ("012.0.0.1", K.PRIVATE),
    ("172.16.0.1", K.PRIVATE), ("172.31.255.255", K.PRIVATE), ("192.168.1.1", K.PRIVATE),
    ("0xc0a80101", K.PRIVATE), ("3232235777", K.PRIVATE), ("0300.0250.1.1", K.PRIVATE),
    ("[fc00::1]", K.PRIVATE), ("[fd12:3456::1]", K.PRIVATE), ("[::ffff:10.0.0.1]", K.PRIVATE),
    ("[fec0::1]", K.PRIVATE), ("[64:ff9b:1::1]", K.PRIVATE), ("[2002:c0a8:101::1]", K.PRIVATE),
    # link-local, where the cloud metadata services live
    ("169.254.169.254", K.LINK_LOCAL), ("0xa9fea9fe", K.LINK_LOCAL),
    ("2852039166", K.LINK_LOCAL), ("169.254.43518", K.LINK_LOCAL), ("[fe80::1]", K.LINK_LOCAL),
    ("[fe80::1%25eth0]", K.LINK_LOCAL), ("[::ffff:169.254.169.254]", K.LINK_LOCAL),
    ("[::ffff:a9fe:a9fe]", K.LINK_LOCAL),
    # carrier-grade NAT (RFC 6598)
    ("100.64.0.1", K.SHARED), ("100.127.255.255", K.SHARED),
    # unspecified ("this host": Linux connects 0.0.0.0 to loopback)
    ("0.0.0.0", K.UNSPECIFIED), ("0", K.UNSPECIFIED), ("0x0", K.UNSPECIFIED),
    ("0x", K.UNSPECIFIED), ("00", K.UNSPECIFIED), ("0.1.2.3", K.UNSPECIFIED),
    ("[::]", K.UNSPECIFIED), ("[::ffff:0.0.0.0]", K.UNSPECIFIED),
    # multicast and reserved
    ("224.0.0.1", K.MULTICAST), ("239.255.255.250", K.MULTICAST), ("[ff02::1]", K.MULTICAST),
    ("240.0.0.1", K.RESERVED), ("255.255.255.255", K.RESERVED), ("4294967295", K.RESERVED),
    ("192.0.2.1", K.RESERVED), ("198.18.0.1", K.RESERVED), ("203.0.113.9", K.RESERVED),
    ("[2001:db8::1]", K.RESERVED), ("[100::1]", K.RESERVED), ("[2001::1]", K.RESERVED),
    ("[4000::1]", K.RESERVED),  # outside 2000::/3, the only global unicast space
    # public
    ("93.184.216.34", K.PUBLIC), ("8.8.8.8", K.PUBLIC), ("1.1", K.PUBLIC),
    ("172.32.0.1", K.PUBLIC), ("100.128.0.1", K.PUBLIC), ("11.0.0.1", K.PUBLIC),
    ("[2606:4700::1111]", K.PUBLIC), ("[::ffff:8.8.8.8]", K.PUBLIC),
    ("[2002:808:808::]", K.PUBLIC), ("[64:ff9b::8.8.8.8]", K.PUBLIC),
]

#: Names only DNS can answer for (the connect-time check handles them).
NAMES = ["example.com", "hooks.example.com.", "localhost.example.com", "notlocalhost",
         "127.0.0.1.nip.io", "0x7f.example", "1.2.3.4.5", "256.0.0.1", "08.0.0.1",
         "127..1", "xn--localhost-", "my-localhost"]


@pytest.mark.parametrize(("host", "kind"), SPELLINGS)
def test_every_spelling_is_classified_without_dns(host: str, kind: AddressKind) -> None:
    assert network.host_kind(host) is kind


@pytest.mark.parametrize("host", NAMES)
def test_names_are_left_to_dns(host: str) -> None:
    assert network.host_kind(host) is None


@pytest.mark.parametrize(("url", "host"), [
    ("http://127.1:8080/hook", "127.1"), ("https://[::1]/x", "::1"),
    ("http://user:pw@0x7f.1/", "0x7f.1"), ("HTTP://LocalHost./", "localhost."),
    ("http://%31%32%37.0.0.1/", "127.0.0.1"), ("https://hooks.example.com/pm", "hooks.example.com"),
    ("http://[fe80::1%25eth0]:80/", "fe80::1%eth0"),
])
def test_url_host_is_what_a_client_would_connect_to(url: str, host: str) -> None:
    assert network.url_host(url) == host


@pytest.mark.parametrize("url", [
    "http:///nohost", "http://", "http://a@b@127.0.0.1/", "http://evil.com\\@127.0.0.1/",
    "http://127.0.0.1 .example.com/", "http://exa\tmple.com/", "http://example.com:99999/",
    "http://example.com:port/", "ftp://example.com/",
])
def test_ambiguous_or_hostless_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        network.url_host(url)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "http://2130706433/", "http://[::ffff:127.0.0.1]/",
    "http://169.254.169.254/latest/meta-data/", "https://10.1/", "http://api.localhost/",
    "http://0/", "http://[fd00::5]:8443/x",
])
def test_target_refusal_names_the_address(url: str) -> None:
    refusal = network.target_refusal(url, allow_private=False)
    assert refusal is not None
    assert refusal.kind is not K.PUBLIC
    assert network.target_refusal(url, allow_private=True) is None


def test_public_targets_and_names_pass_at_save_time() -> None:
    for url in ("https://hooks.example.com/pm", "http://93.184.216.34/", "https://[2606:4700::1]/"):
        assert network.target_refusal(url, allow_private=False) is None


def test_refusal_sentence() -> None:
    refusal = network.target_refusal("http://0x7f.1/", allow_private=False)
    assert refusal is not None
    assert (refusal.host, refusal.address, refusal.kind) == ("0x7f.1", "127.0.0.1", K.LOOPBACK)
    assert refusal.sentence("webhook host") == (
        "webhook host 0x7f.1 resolves to a loopback address (127.0.0.1); refused")
    unspecified = network.target_refusal("http://0/", allow_private=False)
    assert unspecified is not None and "an unspecified address (0.0.0.0)" in unspecified.sentence(
        "x")


def test_vet_refuses_a_host_when_any_address_is_not_public() -> None:
    mixed = network.vet("hooks.example.com", ["93.184.216.34", "127.0.0.1"], allow_private=False)
    assert mixed is not None and mixed.address == "127.0.0.1" and mixed.kind is K.LOOPBACK
    assert network.vet("hooks.example.com", ["93.184.216.34", "2606:4700::1"],
                       allow_private=False) is None
    assert network.vet("hooks.example.com", ["10.0.0.1"], allow_private=True) is None
    mapped = network.vet("x.example", ["::ffff:c0a8:1"], allow_private=False)
    assert mapped is not None and mapped.kind is K.PRIVATE
    assert mapped.address == "::ffff:192.168.0.1"


def test_classify_takes_address_objects() -> None:
    assert network.classify(ipaddress.ip_address("127.0.0.1")) is K.LOOPBACK
    assert network.classify(ipaddress.ip_address("2001:4860:4860::8888")) is K.PUBLIC


@pytest.mark.parametrize("name", ["Host", "host", "Content-Length", "Transfer-Encoding",
                                  "Connection", "CONNECTION", "Keep-Alive", "Proxy-Connection",
                                  "TE", "Trailer", "Upgrade", "Expect"])
def test_framing_and_hop_by_hop_headers_are_refused(name: str) -> None:
    assert network.header_problem(name, "x") is not None


@pytest.mark.parametrize(("name", "value"), [
    ("X-Evil", "a\r\nInjected: yes"), ("X-Evil", "a\nb"), ("X-Evil", "a\rb"),
    ("X-Evil\r\nHost", "x"), ("X Evil", "x"), ("", "x"), ("X-Evil", "caf\u00e9"),
    ("X-Evil", "nul\x00"),
])
def test_line_breaks_and_bad_characters_are_refused(name: str, value: str) -> None:
    assert network.header_problem(name, value) is not None


@pytest.mark.parametrize(("name", "value"), [
    ("X-Token", "abc"), ("Authorization", "Bearer t"), ("X-Empty", ""), ("X-Tab", "a\tb"),
])
def test_ordinary_headers_pass(name: str, value: str) -> None:
    assert network.header_problem(name, value) is None


@pytest.mark.parametrize(("host", "allowed"), [
    ("127.0.0.1", True), ("::1", True), ("localhost", True), ("127.0.0.2", True),
    ("0.0.0.0", False), ("::", False), ("10.0.0.5", False), ("api.example.com", False),
])
def test_private_targets_are_allowed_automatically_only_on_a_loopback_api(
        host: str, allowed: bool) -> None:
    assert Settings(api_host=host).webhook_private_targets_allowed is allowed
    assert Settings(api_host=host, webhook_allow_private_targets=True
                    ).webhook_private_targets_allowed is True
    assert Settings(api_host=host, webhook_allow_private_targets=False
                    ).webhook_private_targets_allowed is False


def test_a_worker_only_process_refuses_private_targets_unless_told() -> None:
    """It has no API of its own (its api_host is only the default) and is the process
    that connects; a worker the API process forks inherits that process's answer."""
    assert Settings(roles=("worker",)).webhook_private_targets_allowed is False
    assert Settings(roles=("worker",), webhook_allow_private_targets=True
                    ).webhook_private_targets_allowed is True


def test_a_forked_worker_inherits_the_api_process_answer(tmp_path: Path) -> None:
    app = Postlane(Settings(data_dir=tmp_path, worker_processes=1))
    try:
        child = app.split_off_worker()
        try:
            assert child.settings.roles == ("worker",)
            assert child.settings.webhook_private_targets_allowed is True
        finally:
            child.close()
    finally:
        app.close()


def test_private_mx_hosts_are_refused_unless_allowed() -> None:
    assert Settings().delivery_allow_private_mx is False
    assert Settings(delivery_allow_private_mx=True).delivery_allow_private_mx is True
