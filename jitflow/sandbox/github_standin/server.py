"""HTTP plumbing: authentication, routing, fault injection, recording, JSON I/O."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

from jitflow.sandbox.github_standin.api import Api, Request, Response
from jitflow.sandbox.github_standin.githttp import GitResponse, git_path, serve_git
from jitflow.sandbox.github_standin.messages import ApiError
from jitflow.sandbox.github_standin.routes import ALIASES, OPERATIONS, Operation
from jitflow.sandbox.github_standin.service import Service

DOCS = "https://docs.github.com/rest"
RATE_LIMIT = 5000


class ServedRequest(NamedTuple):
    """One request the stand-in answered, and the X-GitHub-Request-Id it answered with
    ("" for git's, which GitHub does not number)."""

    method: str
    path: str
    status: int
    request_id: str


class Recorder:
    """What was served: one record per request for everyone, bodies for the contract test."""

    def __init__(self) -> None:
        self.requests: list[ServedRequest] = []
        self.served: list[tuple[str, int, Any]] = []
        # (time.time(), client port) of each accepted connection, requests or not: a client
        # port missing here was answered by another listener, not by this server.
        self.connections: list[tuple[float, int]] = []


class RecordingServer(ThreadingHTTPServer):
    """The stand-in's listener: records each accepted connection before serving it."""

    daemon_threads = True

    def __init__(self, recorder: Recorder, handler: type[BaseHTTPRequestHandler]) -> None:
        self.recorder = recorder
        super().__init__(("127.0.0.1", 0), handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.recorder.connections.append((time.time(), int(client_address[1])))
        super().process_request(request, client_address)

    def close_listener(self) -> None:
        """Wake whatever waits on the listener, then close it: a call still waiting on a
        closed listener is restarted by the kernel after the process is stopped and continued,
        on the descriptor number, which a later listener of this process may hold by then."""
        with contextlib.suppress(OSError):  # already shut: nothing waits on it
            self.socket.shutdown(socket.SHUT_RDWR)
        self.server_close()


def error_body(status: int, message: str, errors: list[Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "documentation_url": DOCS, "status": str(status)}
    if errors is not None:
        body["errors"] = errors
    return body


def route(method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
    for operation in (*OPERATIONS, *ALIASES):
        if operation.method != method:
            continue
        match = operation.pattern.match(path)
        if match:
            return operation, {k: unquote(v) for k, v in match.groupdict().items()}
    return None


def make_handler(service: Service, api: Api, recorder: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "GitHubStandIn/1.0"
        # Send headers and body in one segment: with keep-alive, separate small writes
        # meet Nagle + delayed ACK and every request stalls ~200 ms.
        wbufsize = -1
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the default stderr access log (requests_log is the record)."""

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PUT(self) -> None:
            self._handle("PUT")

        def do_PATCH(self) -> None:
            self._handle("PATCH")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        def _handle(self, method: str) -> None:
            split = urlsplit(self.path)
            path = split.path.rstrip("/") or "/"
            raw = self._read_body()
            git_service = git_path(service.owner, service.repo, path)
            if git_service is not None:
                with service.lock:
                    answer = serve_git(
                        service,
                        service.git.path,
                        method,
                        git_service,
                        split.query,
                        self.headers.get,
                        raw,
                    )
                    recorder.requests.append(ServedRequest(method, path, answer.status, ""))
                self._send_git(answer)
                return
            with service.lock:
                operation_id, response = self._dispatch(method, path, split.query, raw)
                request_id = response.headers.setdefault("X-GitHub-Request-Id", _request_id())
                recorder.requests.append(ServedRequest(method, path, response.status, request_id))
                if operation_id:
                    recorder.served.append((operation_id, response.status, response.body))
            self._send(response)

        def _read_body(self) -> bytes:
            if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
                chunks: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send_git(self, answer: GitResponse) -> None:
            self.send_response(answer.status, HTTPStatus(answer.status).phrase)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def _dispatch(
            self, method: str, path: str, query: str, raw: bytes
        ) -> tuple[str | None, Response]:
            fault = _take_fault(service, method, path)
            if fault is not None:
                return None, fault
            found = route(method, path)
            if found is None:
                return None, Response(404, error_body(404, "Not Found"))
            operation, params = found
            user = _authenticate(service, self.headers.get("Authorization", ""))
            if isinstance(user, Response):
                return operation.operation_id, user
            try:
                body = json.loads(raw) if raw.strip() else {}
                if not isinstance(body, dict):
                    raise ApiError(400, "Problems parsing JSON")
                service.refresh()
                request = Request(method, path, params, dict(parse_qsl(query)), body, user)
                handler: Callable[[Request], Response] = getattr(api, operation.handler)
                return operation.operation_id, handler(request)
            except json.JSONDecodeError:
                return operation.operation_id, Response(
                    400, error_body(400, "Problems parsing JSON")
                )
            except ApiError as exc:
                response = Response(exc.status, error_body(exc.status, exc.message, exc.errors))
                response.headers.update(exc.headers)
                return operation.operation_id, response

        def _send(self, response: Response) -> None:
            payload = b"" if response.body is None else json.dumps(response.body).encode()
            self.send_response(response.status, HTTPStatus(response.status).phrase)
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "X-GitHub-Media-Type": "github.v3; format=json",
                "X-RateLimit-Limit": str(RATE_LIMIT),
                "X-RateLimit-Remaining": str(RATE_LIMIT - 1),
                "X-RateLimit-Reset": str(int(time.time()) + 3600),
                "X-RateLimit-Used": "1",
                "X-RateLimit-Resource": "core",
                **response.headers,
                "Content-Length": str(len(payload)),
            }
            # Later entries win regardless of case (fault headers override the defaults).
            by_lower = {name.lower(): (name, value) for name, value in headers.items()}
            for name, value in by_lower.values():
                self.send_header(name, value)
            self.end_headers()
            if payload and self.command != "HEAD":
                self.wfile.write(payload)

    return Handler


def _request_id() -> str:
    return uuid.uuid4().hex[:16].upper()


def _authenticate(service: Service, header: str) -> Any:
    scheme, _, token = header.partition(" ")
    if not token or scheme.lower() not in ("token", "bearer"):
        return Response(401, error_body(401, "Requires authentication"))
    user = service.authenticate(token.strip())
    if user is None:
        return Response(401, error_body(401, "Bad credentials"))
    return user


def _take_fault(service: Service, method: str, path: str) -> Response | None:
    for fault in service.store.faults:
        if fault.method.upper() == method and re.search(fault.path_regex, path):
            fault.times -= 1
            if fault.times <= 0:
                service.store.faults.remove(fault)
            message = _FAULT_MESSAGES.get(fault.status, HTTPStatus(fault.status).phrase)
            if fault.status == 403 and fault.headers.get("x-ratelimit-remaining") == "0":
                message = "API rate limit exceeded for user ID 1."
            return Response(fault.status, error_body(fault.status, message), dict(fault.headers))
    return None


_FAULT_MESSAGES = {
    403: (
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    ),
    429: "API rate limit exceeded",
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
}
