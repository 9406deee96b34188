"""A small threaded WSGI server that keeps HTTP/1.1 connections alive.

Why not werkzeug's own server: its dev server answers every request with `Connection: close` (it cannot drain a
request stream), so clients that pool connections, like the product's `requests.Session`, would reconnect for every
call. This one reads each request body completely before calling the app, so the stream stays in step, answers with
`Content-Length` in a single write (no Nagle delay between headers and body), and keeps the connection until the
client closes it, asks to, or stays idle for `IDLE_TIMEOUT` seconds. One thread per connection (stdlib
`ThreadingHTTPServer`); werkzeug still does the routing, request parsing and responses inside the app.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import socketserver
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote_to_bytes

log = logging.getLogger("bitbucket_emulator")

IDLE_TIMEOUT = 60.0  # seconds a kept-alive connection may stay silent
MAX_BODY = 64 * 1024 * 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bitbucket-emulator"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    verbose = False
    server: Server

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        # A client (or the `drop` fault) going away is not an error worth a traceback.
        with contextlib.suppress(OSError):
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:
        if self.verbose:
            super().log_message(format, *args)

    def _body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = self.headers.get("Content-Length")
        if length is None:
            return None
        size = int(length)
        if size < 0 or size > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(size)

    def _environ(self, body: bytes | None) -> dict:
        path, _, query = self.path.partition("?")
        host, port = self.server.server_address[:2]
        environ = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": str(self.client_address[1]),
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": "" if body is None else str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body or b""),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "werkzeug.socket": self.connection,  # the `drop` fault cuts the connection through it
        }
        for key, value in self.headers.items():
            name = "HTTP_" + key.upper().replace("-", "_")
            if name in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING"):
                continue  # the body is read whole and de-chunked: CONTENT_LENGTH describes it
            environ[name] = f"{environ[name]},{value}" if name in environ else value
        return environ

    def _serve(self) -> None:
        try:
            body = self._body()
        except ValueError:
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad request body")
            return
        environ = self._environ(body)
        status_line = "500 Internal Server Error"
        headers: list[tuple[str, str]] = []

        def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None):
            nonlocal status_line, headers
            status_line, headers = status, list(response_headers)
            return lambda data: None

        try:
            result = self.server.app(environ, start_response)
            try:
                payload = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close:
                    close()
        except Exception:
            log.exception("the emulator failed on %s %s", self.command, self.path)
            status_line = "500 Internal Server Error"
            headers = [("Content-Type", "application/json")]
            payload = b'{"type": "error", "error": {"message": "Internal Server Error"}}'
        code = int(status_line.split(" ", 1)[0])
        names = {k.lower() for k, _ in headers}
        if "content-length" not in names and code not in (204, 304) and code >= 200:
            headers.append(("Content-Length", str(len(payload))))
        if any(k.lower() == "connection" and v.lower() == "close" for k, v in headers):
            self.close_connection = True
        lines = [f"{self.protocol_version} {status_line}", f"Date: {self.date_time_string()}", "Server: bitbucket"]
        lines += [f"{k}: {v}" for k, v in headers]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head if self.command == "HEAD" or code in (204, 304) else head + payload)
        if self.verbose:
            self.log_request(code, len(payload))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _serve


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, app, handler: type[Handler] = Handler):
        self.app = app
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__((host, port), handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up (getfqdn), which can hang without DNS; it is not needed.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), port

    def process_request(self, request, client_address):
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address) -> None:
        pass  # errors on client sockets are the client's business; the app answers its own errors

    def close_connections(self) -> None:
        """Cut kept-alive connections (after `shutdown()`, so a stopped emulator answers nobody)."""
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
