"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 with scripted answers."""

from __future__ import annotations

import json
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "T000/B000/url-token-never-shown"  # a Slack-style URL carries its credential in the path


class Receiver:
    """A webhook receiver on 127.0.0.1: records every POST; answers from a script of responses
    (an int status, "hang" for longer than the sender waits, or a callable run before answering)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.script: queue.Queue = queue.Queue()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                action = 200 if receiver.script.empty() else receiver.script.get()
                if callable(action):
                    action()
                    action = 200
                if action == "hang":
                    time.sleep(2)
                    action = 200
                self.send_response(action)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{TOKEN}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def documents(self) -> list[dict]:
        return [json.loads(body) for _, body in self.requests]
