"""What MAIL knows about a token without asking the database (postlane/smtp/senders.py):
a yes younger than FRESH_FOR, never a no, and never an older answer over a newer one."""

from __future__ import annotations

from postlane.smtp.senders import FRESH_FOR, Standings
from tests.support.session_support import SteppedClock


def test_a_fresh_yes_is_reused_and_a_stale_one_is_not() -> None:
    clock = SteppedClock()
    standings = Standings(clock)
    assert not standings.may_send("tok")  # nothing known: ask
    standings.record("tok", True, clock.now)
    clock.advance(FRESH_FOR * 0.9)
    assert standings.may_send("tok")
    clock.advance(FRESH_FOR * 0.1)
    assert not standings.may_send("tok")


def test_a_no_is_never_reused() -> None:
    """So a server switched back on sends again at once."""
    clock = SteppedClock()
    standings = Standings(clock)
    standings.record("tok", False, clock.now)
    assert not standings.may_send("tok")


def test_an_older_answer_does_not_replace_a_newer_one() -> None:
    """An accept that began before the revocation may report after the check that saw
    it; its yes is older and must not count."""
    clock = SteppedClock()
    standings = Standings(clock)
    standings.record("tok", False, clock.now)
    standings.record("tok", True, clock.now - 0.1)
    assert not standings.may_send("tok")
    standings.record("tok", True, clock.now)
    assert standings.may_send("tok")
