"""aiosmtpd's SMTP protocol with two repairs found by fuzzing (tests/test_fuzz_smtp.py),
and shortcuts found by profiling (each checked against the long way in
tests/test_smtp_paths.py).

- Replies are well-formed: some echo the client's input (500 Error: command "..." not
  recognized, a stream name in a 550), and a NUL, a bare CR or 20 kB of it there make a
  reply line RFC 5321 does not allow (smtplib gives up on lines over 8 kB).
- An overlong answer inside an AUTH exchange (after "334") is skipped to its end and
  refused with one reply. aiosmtpd leaked the reader's ValueError as "500 Error: (...)" and
  then answered the rest of the line as a second command, so replies fell out of step.
- A plain ``<local@domain>`` path in MAIL and RCPT is read with one regular expression.
  aiosmtpd runs the full RFC 5322 parser (and defines a class) on every address, which
  was a quarter of the SMTP process's CPU under load; anything else still goes to it.
- A listener builds its protocol objects from one constructed prototype
  (:meth:`PostlaneSMTP.factory`): aiosmtpd's constructor reflects over the handler and
  itself (``inspect.getmembers``) for every connection, a third of the CPU with a new
  connection per message.
- A reply that is one short line of printable ASCII is sent without the cleaning pass.
"""

from __future__ import annotations

import asyncio
import binascii
import re
import types
from base64 import b64decode, b64encode
from collections.abc import Callable
from typing import Any, AnyStr, TypeVar, cast

from aiosmtpd.smtp import MISSING, SMTP, _AuthMechAttr

#: Not allowed in a reply line: RFC 5321 textstring is HT and printable characters.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#: RFC 5321 4.5.3.1.5: a reply line is at most 512 octets with its CRLF.
MAX_REPLY_LINE = 510
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
#: ``<dot-atom@domain>``, the form nearly every client sends.
_PLAIN_PATH = re.compile(rf"<({_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>")


def _line(text: str) -> str:
    data = _CONTROL.sub("?", text).encode("utf-8", "replace")
    return data[:MAX_REPLY_LINE].decode("utf-8", "ignore")


def printable_reply(status: str) -> str:
    """Control characters and unencodable surrogates become '?' and each line is cut to
    the limit (replies may quote a client's overlong input); CRLF between the lines of a
    multi-line reply stays."""
    if len(status) <= MAX_REPLY_LINE and status.isascii() and status.isprintable():
        return status  # one short clean line: nearly every reply
    return "\r\n".join(_line(line) for line in status.split("\r\n"))


_P = TypeVar("_P", bound="PostlaneSMTP")


class PostlaneSMTP(SMTP):
    @classmethod
    def factory(cls: type[_P], *args: Any, **kwargs: Any) -> Callable[[], _P]:
        """A protocol factory for ``loop.create_server``. aiosmtpd's constructor runs once,
        here; each connection gets a copy of that fresh state with its own stream
        objects and with the command and AUTH methods bound to itself."""
        state = dict(cls(*args, **kwargs).__dict__)

        def make() -> _P:
            protocol = cls.__new__(cls)
            protocol.__dict__.update(state)
            protocol._bind_connection_state()
            return protocol

        return make

    def _bind_connection_state(self) -> None:
        asyncio.StreamReaderProtocol.__init__(
            self, asyncio.StreamReader(loop=self.loop, limit=self.line_length_limit),
            client_connected_cb=self._cb_client_connected, loop=self.loop)
        self._smtp_methods = {name: types.MethodType(method.__func__, self)
                              for name, method in self._smtp_methods.items()}
        self._auth_methods = {
            name: _AuthMechAttr(types.MethodType(cast(types.MethodType, mech.method).__func__,
                                                 self), True)
            if mech.is_builtin else mech for name, mech in self._auth_methods.items()}

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's result for a plain path, without its parser; any other form (quoted
        local part, address literal, comments, no brackets) takes aiosmtpd's own path."""
        match = _PLAIN_PATH.match(arg)
        if match is not None:
            address = match.group(1)
            rest = arg[match.end():].lstrip(" \t")
            local_limit = self.local_part_limit
            if not rest.startswith("(") and (
                    not local_limit or len(address.rpartition("@")[0]) <= local_limit):
                return address, rest
        result: tuple[str | None, str | None] = super()._getaddr(arg)
        return result

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str):
            await super().push(printable_reply(status))
        else:
            await super().push(status)

    async def challenge_auth(self, challenge: str | bytes, encode_to_b64: bool = True,
                             log_client_response: bool = False) -> Any:
        """aiosmtpd's challenge_auth, reading the answer within the line limit."""
        data = challenge.encode() if isinstance(challenge, str) else challenge
        await self.push(b"334 " + (b64encode(data) if encode_to_b64 else data))
        line = await self._answer_line()
        blob = None if line is None else line.strip()
        if blob is None:
            reply = "500 5.5.6 Authentication answer too long"
        elif blob == b"*":
            reply = "501 5.7.0 Auth aborted"
        else:
            try:
                return b64decode(blob, validate=True)
            except binascii.Error:
                reply = "501 5.5.2 Can't decode base64"
        await self.push(reply)
        return MISSING

    async def _answer_line(self) -> bytes | None:
        """One line, or None after skipping to the end of a line over the limit."""
        reader: asyncio.StreamReader = self._reader
        try:
            return await reader.readuntil()
        except asyncio.IncompleteReadError as exc:
            return exc.partial
        except asyncio.LimitOverrunError as exc:
            consumed = exc.consumed
        while True:  # as aiosmtpd's command loop does for an overlong command
            await reader.read(consumed)
            try:
                await reader.readuntil()
                return None
            except asyncio.IncompleteReadError:
                return None
            except asyncio.LimitOverrunError as exc:
                consumed = exc.consumed
