"""A tiny webhook receiver for trying Postlane locally: prints each POSTed JSON body.

Real webhook endpoints live in your application; this one exists so the README's
walkthrough needs nothing but this machine.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO


def make_handler(out: TextIO) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = min(int(self.headers.get("Content-Length", "0") or 0), 10 * 1024 * 1024)
            raw = self.rfile.read(length)
            try:
                text = json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
            except ValueError:
                text = raw.decode("utf-8", "replace")
            out.write(f"--- POST {self.path}\n{text}\n")
            out.flush()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def serve(host: str, port: int, out: TextIO = sys.stdout) -> None:
    server = ThreadingHTTPServer((host, port), make_handler(out))
    out.write(f"Listening for webhooks on http://{host}:{server.server_address[1]}/\n")
    out.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
