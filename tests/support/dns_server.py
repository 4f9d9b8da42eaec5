"""A real DNS server on loopback (UDP) answering from a small zone: MX lookups in the
delivery tests go to it instead of the internet."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


@dataclass
class ZoneServer:
    #: name -> record type -> values, e.g. {"example.test": {"MX": ["10 mx.example.test."]}}
    zone: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    port: int = 0
    _sock: socket.socket | None = None

    def _answer(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        for question in query.question:
            name = question.name.to_text().rstrip(".").lower()
            records = self.zone.get(name)
            if records is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
                continue
            values = records.get(dns.rdatatype.to_text(question.rdtype), [])
            if values:
                response.answer.append(dns.rrset.from_text(
                    question.name, 60, "IN", question.rdtype, *values))
        return response.to_wire()

    def start(self) -> ZoneServer:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def _serve(self) -> None:
        assert self._sock is not None
        while True:
            try:
                wire, addr = self._sock.recvfrom(4096)
            except OSError:
                return
            try:
                self._sock.sendto(self._answer(wire), addr)
            except Exception:  # a malformed query gets no answer, like a real server
                continue

    def stop(self) -> None:
        if self._sock is not None:
            self._sock.close()
