"""Loaded by the Python of every `run:` step (the harness puts this folder on PYTHONPATH):
each HTTP answer a step gets is appended to the file $JITFLOW_STEP_TRACE, one line per answer:
client port -> server port, status, the Server header and GitHub's request id. A failing step
prints these lines, so an answer that did not come from the stand-in shows who gave it.
Nothing else changes; without the variable nothing is loaded."""

import os

if os.environ.get("JITFLOW_STEP_TRACE"):
    import http.client

    _begin = http.client.HTTPResponse.begin

    def _traced_begin(self: http.client.HTTPResponse) -> None:
        _begin(self)
        try:
            sock = self.fp.raw._sock  # type: ignore[union-attr]
            ports = f"{sock.getsockname()[1]} -> {sock.getpeername()[1]}"
        except (AttributeError, OSError):
            ports = "? -> ?"
        server, request_id = self.getheader("Server"), self.getheader("X-GitHub-Request-Id")
        line = f"pid {os.getpid()} {ports} {self.status} Server {server!r} id {request_id!r}\n"
        with open(os.environ["JITFLOW_STEP_TRACE"], "a", encoding="utf-8") as trace:
            trace.write(line)

    http.client.HTTPResponse.begin = _traced_begin  # type: ignore[method-assign]
