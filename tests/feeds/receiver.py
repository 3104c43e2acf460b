"""A real webhook receiver for the tests: an HTTP server on 127.0.0.1 in a thread.

It checks every delivery with the recipe published in ``docs/subscriptions.md`` (the code block
is read from the document and executed, so the documentation is what is tested), records what it
accepted, and answers with the statuses it is told to (500s to make the worker retry).
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[2] / "docs" / "subscriptions.md"


def documented_recipe() -> Callable[..., dict[str, Any]]:
    """``verify_delivery`` exactly as docs/subscriptions.md publishes it."""
    text = DOC.read_text("utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    code = next(b for b in blocks if "def verify_delivery" in b)
    assert len([line for line in code.strip().splitlines() if line.strip()]) <= 12
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    recipe: Callable[..., dict[str, Any]] = namespace["verify_delivery"]
    return recipe


@dataclass
class Receiver:
    url: str
    secrets: dict[str, str] = field(default_factory=dict)  # subscription id -> secret
    accepted: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    statuses: deque[int] = field(default_factory=deque)  # answers to give before 200s
    always: int | None = None  # answer every request with this status
    lock: threading.Lock = field(default_factory=threading.Lock)

    def indices(self, subscription: str) -> list[int]:
        with self.lock:
            return [index for sub, index, _ in self.accepted if sub == subscription]


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    verify = documented_recipe()
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            sub = self.headers.get("Orgbook-Subscription", "")
            with receiver.lock:
                status = receiver.always or (
                    receiver.statuses.popleft() if receiver.statuses else 200
                )
            if status == 200:
                try:
                    payload = verify(receiver.secrets[sub], self.headers["Orgbook-Signature"], body)
                except (KeyError, ValueError) as exc:
                    with receiver.lock:
                        receiver.rejected.append(str(exc))
                    status = 400
                else:
                    index = int(self.headers["Orgbook-Ledger-Index"])
                    assert payload["index"] == index
                    assert self.headers["Orgbook-Delivery-Id"] == f"{sub}.{index}"
                    with receiver.lock:
                        receiver.accepted.append((sub, index, payload))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
