"""The session caps' arithmetic (postlane/smtp/admission.py, runtime.session_caps): counts
per listener and per client address, released once, the trusted networks exempt from the
per-client cap only, and the caps sized below the descriptor limit. (Over real sockets:
tests/e2e/test_smtp_limits.py.)"""

from __future__ import annotations

from typing import Any

from postlane.config import Settings
from postlane.runtime import session_caps
from postlane.smtp.admission import Admission

A, B = ("192.0.2.1", 1000), ("192.0.2.2", 1000)


def test_the_per_client_cap_counts_addresses_not_connections() -> None:
    caps = Admission(max_sessions=10, max_per_client=2)
    releases = [caps.admit(A), caps.admit(("192.0.2.1", 2000))]
    assert caps.refusal(A) is True  # this address is full
    assert caps.refusal(B) is None  # another is not
    releases[0]()
    releases[0]()  # counted out once however often it is called
    assert caps.refusal(A) is None and caps.active == 1
    releases[1]()
    assert caps.per_client == {} and caps.active == 0


def test_an_ipv6_client_counts_by_its_64() -> None:
    """One host holds a whole /64: a new address from it is the same client, so it
    cannot fill the listener from its own subnet."""
    caps = Admission(max_sessions=100, max_per_client=2)
    caps.admit(("2001:db8::1", 1000, 0, 0))
    caps.admit(("2001:db8::2", 1000, 0, 0))
    assert caps.refusal(("2001:db8::ffff:1", 1000, 0, 0)) is True
    assert caps.refusal(("2001:db8:0:1::1", 1000, 0, 0)) is None  # the next /64
    assert caps.refusal(("::ffff:192.0.2.1", 1000, 0, 0)) is None  # that IPv4 client


def test_the_listener_cap_counts_everyone() -> None:
    caps = Admission(max_sessions=2, max_per_client=5)
    caps.admit(A)
    caps.admit(B)
    assert caps.refusal(("198.51.100.7", 1)) is False


def test_trusted_clients_are_exempt_from_the_per_client_cap_only() -> None:
    def trusted(peer: Any) -> bool:
        return bool(peer[0] == A[0])

    caps = Admission(max_sessions=3, max_per_client=1, exempt=trusted)
    caps.admit(A)
    caps.admit(A)
    assert caps.refusal(A) is None
    caps.admit(A)
    assert caps.refusal(A) is False  # the listener's cap still holds


def test_the_caps_leave_a_reserve_of_descriptors() -> None:
    """A loop pass's accepts per listener (listener.BACKLOG + 1: what the caps turn away
    holds a descriptor until the pass ends) and a quarter of the limit for the rest."""
    settings = Settings(smtp_max_sessions=1000)
    assert session_caps(settings, listeners=1, fd_limit=1 << 20) == 1000
    assert session_caps(settings, listeners=2, fd_limit=1024) == (1024 - 2 * 101 - 256) // 2
    assert session_caps(settings, listeners=1, fd_limit=512) == 512 - 101 - 128
    assert session_caps(settings, listeners=2, fd_limit=256) == 1  # never none at all
