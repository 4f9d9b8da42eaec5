"""One AUTH exchange (RFC 4954): PLAIN (RFC 4616) or LOGIN, challenges out, the client's
answers in, credentials at the end. Pure: the session sends the challenges and hands the
credentials to the handler."""

from __future__ import annotations

from dataclasses import dataclass

from postlane.smtp import syntax

USERNAME = "VXNlcm5hbWU6"  # base64 "Username:"
PASSWORD = "UGFzc3dvcmQ6"  # base64 "Password:"


@dataclass(frozen=True, slots=True)
class Credentials:
    login: str
    password: str


class Exchange:
    """The steps of one mechanism. ``start`` and ``answer`` return the next challenge's
    text or, once the client has said everything, its credentials; an answer that cannot
    be used raises ``syntax.AuthProblem`` (its message is the reply)."""

    def __init__(self, mechanism: str) -> None:
        self.mechanism = mechanism  # "PLAIN" or "LOGIN", upper-cased
        self._user: str | None = None

    def start(self, initial: str) -> str | Credentials:
        """``initial`` is the initial response given with the command, or empty."""
        if initial:
            return self.answer(initial.encode())
        return "" if self.mechanism == "PLAIN" else USERNAME

    def answer(self, line: bytes | bytearray) -> str | Credentials:
        decoded = syntax.decode_answer(line)
        if self.mechanism == "PLAIN":
            return Credentials(*syntax.plain_credentials(decoded))
        if self._user is None:
            self._user = decoded.decode("utf-8", "replace")
            return PASSWORD
        return Credentials(self._user, decoded.decode("utf-8", "replace"))
