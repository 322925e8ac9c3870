"""The load bench speaks to the server as the phone does (issue 10, item 18)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bench.load_actions import ClientSpec, run_level


def test_the_load_bench_sends_a_new_idempotency_key_with_every_save() -> None:
    # given a server that records what each save carries
    seen: list[dict[str, Any]] = []

    class Recorder(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append({"key": self.headers.get("Idempotency-Key"), "customer": body["customer_id"]})
            payload = json.dumps({"id": len(seen)}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # when two clients post twelve saves
        clients = [
            ClientSpec(rep="rep01", token="t1", customers=[1, 2]),
            ClientSpec(rep="rep02", token="t2", customers=[3]),
        ]
        result = run_level(
            port=server.server_address[1], path="/api/v1/actions", clients=clients, max_requests=12, time_limit=20
        )
    finally:
        server.shutdown()
    # then every save was answered and carried its own Idempotency-Key, as a phone's entry does
    assert result.ok == 12
    keys = [s["key"] for s in seen]
    assert None not in keys
    assert len(set(keys)) == 12
