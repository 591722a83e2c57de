#!/usr/bin/env python3
"""Receives the benchmark registry's notifications (CNCF distribution webhooks).

    registry_events.py EVENTS_JSONL PORT_FILE

Listens on 127.0.0.1 (a free port, written to PORT_FILE once listening) and appends each
POSTed envelope ({"events": [...]}) as one line to EVENTS_JSONL. The registry sends one
`push` event per blob it accepts (target.digest, target.size, target.repository), whether
or not the same bytes were already stored for another repository, and a `mount` event per
cross-repository mount: the registry-side record of what each client uploaded.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


def main() -> None:
    events_path, port_path = sys.argv[1], sys.argv[2]
    out = open(events_path, "a", encoding="utf-8")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server naming)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            try:
                envelope = json.loads(body)
                line = json.dumps(envelope, separators=(",", ":"))
            except ValueError:
                line = json.dumps({"unparsed": body.decode("utf-8", "replace")})
            with LOCK:
                out.write(line + "\n")
                out.flush()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_path + ".partial", "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.replace(port_path + ".partial", port_path)
    server.serve_forever()


if __name__ == "__main__":
    main()
