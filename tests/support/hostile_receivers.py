"""Webhook receivers that misbehave at the socket level, as a broken or hostile endpoint
does: answer one byte at a time, answer without end, or never answer. Each connection is
recorded (when it was accepted, when the worker let go of it, how much of the answer got
out), so tests assert on what the receiver saw, not on the worker's insides.

A real socket server on a thread per connection; ``stop`` closes every connection, so a
worker still waiting on one is released at once.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: What a receiver answers, given the connection (after the request was read whole).
Behaviour = Callable[["Peer"], None]


@dataclass
class Connection:
    """One POST as the receiver saw it."""

    accepted_at: float
    request: bytes = b""
    #: When the worker closed the connection (or reset it), if it did.
    closed_at: float | None = None
    #: Bytes of the answer the kernel took from the receiver.
    sent: int = 0
    #: The receiver wrote everything it meant to (the worker did not close first).
    finished: bool = False


@dataclass
class Peer:
    """The receiver's side of one connection, for behaviours."""

    sock: socket.socket
    record: Connection
    stopping: threading.Event

    def send(self, data: bytes) -> bool:
        """Write ``data``; False once the worker has closed the connection."""
        view = memoryview(data)
        try:
            while view:
                n = self.sock.send(view)
                self.record.sent += n
                view = view[n:]
        except OSError:
            self.gone()
            return False
        return True

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the worker closes the connection first (then False)."""
        until = time.monotonic() + seconds
        while not self.stopping.is_set():
            left = until - time.monotonic()
            if left <= 0:
                return True
            readable, _, _ = select.select([self.sock], [], [], min(left, 0.05))
            if readable:
                try:
                    data = self.sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self.gone()
                    return False
        return False

    def gone(self) -> None:
        if self.record.closed_at is None:
            self.record.closed_at = time.monotonic()


def trickle_head(interval: float) -> Behaviour:
    """A status line, then a header that never ends, one byte each ``interval``."""
    def behave(peer: Peer) -> None:
        if not peer.send(b"HTTP/1.1 200 OK\r\nX-Pad: "):
            return
        while peer.wait(interval) and peer.send(b"a"):
            pass
    return behave


def trickle_body(interval: float, length: int = 100_000) -> Behaviour:
    """Complete headers, then a body of ``length`` bytes, one byte each ``interval``."""
    def behave(peer: Peer) -> None:
        if not peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % length):
            return
        while peer.wait(interval) and peer.send(b"a"):
            pass
    return behave


def flood_body(total: int, status: int = 200) -> Behaviour:
    """Complete headers, then a body of ``total`` bytes as fast as the socket takes them."""
    chunk = b"x" * 65536

    def behave(peer: Peer) -> None:
        head = b"HTTP/1.1 %d OK\r\nContent-Length: %d\r\n\r\n" % (status, total)
        if not peer.send(head):
            return
        left = total
        while left > 0:
            piece = chunk[:left]
            if not peer.send(piece):
                return
            left -= len(piece)
        peer.record.finished = True
        peer.wait(5.0)  # let the worker read (or close) before this side closes
    return behave


def hang() -> Behaviour:
    """Read the request and never answer."""
    def behave(peer: Peer) -> None:
        while peer.wait(3600):
            pass
    return behave


@dataclass
class HostileReceiver:
    behaviour: Behaviour
    _listener: socket.socket | None = None
    _connections: list[Connection] = field(default_factory=list)
    _sockets: list[socket.socket] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._listener is not None, "start the receiver first"
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}/hook"

    @property
    def connections(self) -> list[Connection]:
        with self._lock:
            return list(self._connections)

    def start(self) -> HostileReceiver:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=256)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):  # wakes the thread blocked in accept()
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            if self._stopping.is_set():
                sock.close()
                return
            record = Connection(time.monotonic())
            with self._lock:
                self._connections.append(record)
                self._sockets.append(sock)
            threading.Thread(target=self._serve, args=(sock, record), daemon=True).start()

    def _serve(self, sock: socket.socket, record: Connection) -> None:
        peer = Peer(sock, record, self._stopping)
        try:
            if _read_request(sock, record):
                self.behaviour(peer)
            else:
                peer.gone()
        except OSError:
            peer.gone()


def _read_request(sock: socket.socket, record: Connection) -> bool:
    """Read one request (head and Content-Length body); False if the peer left first."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            return False
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        piece = sock.recv(65536)
        if not piece:
            return False
        body += piece
    record.request = head + b"\r\n\r\n" + body
    return True
