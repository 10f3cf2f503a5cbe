"""The echo service, standard library only."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        return

    def send(self, code: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/health":
            self.send(200, {"status": "ok"})
        else:
            self.send(404, {"detail": "not found"})

    def do_POST(self) -> None:
        if self.path != "/echo":
            self.send(404, {"detail": "not found"})
            return
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            self.send(422, {"detail": "the body is not JSON"})
            return
        self.send(200, {"echo": body})


def serve() -> None:
    ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()  # noqa: S104


if __name__ == "__main__":
    serve()
