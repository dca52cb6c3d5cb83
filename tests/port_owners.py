"""Who holds a local TCP port, from /proc (for failure messages: an answer that did not come
from the server a test started shows who else was listening or connected on its port)."""

from __future__ import annotations

import os
import socket
import sys
import threading
from pathlib import Path

_STATES = {
    "01": "ESTABLISHED",
    "02": "SYN_SENT",
    "03": "SYN_RECV",
    "04": "FIN_WAIT1",
    "05": "FIN_WAIT2",
    "06": "TIME_WAIT",
    "08": "CLOSE_WAIT",
    "0A": "LISTEN",
}


def describe_port(port: int) -> str:
    """Every socket on `port` (state, local -> remote, owning process), or why unknown."""
    try:
        sockets = _sockets_on(port)
        owners = _owners({inode for *_, inode in sockets})
    except OSError as exc:
        return f"port {port}: /proc unreadable ({exc})"
    rows = [
        f"{_STATES.get(state, state)} {local} -> {remote} inode {inode} by {owners.get(inode, '?')}"
        for state, local, remote, inode in sockets
    ]
    return f"port {port}: " + ("; ".join(rows) or "no socket")


def _sockets_on(port: int) -> list[tuple[str, str, str, str]]:
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text(encoding="ascii").splitlines()[1:]:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], fields[9]
            if (
                int(local.rsplit(":", 1)[1], 16) == port
                or int(remote.rsplit(":", 1)[1], 16) == port
            ):
                found.append((state, _endpoint(local), _endpoint(remote), inode))
    return found


def _endpoint(hex_endpoint: str) -> str:
    address, port = hex_endpoint.rsplit(":", 1)
    if len(address) == 8:  # IPv4, little-endian
        address = ".".join(str(b) for b in reversed(bytes.fromhex(address)))
    return f"{address}:{int(port, 16)}"


def _owners(inodes: set[str]) -> dict[str, str]:
    owners: dict[str, str] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            raw = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:120]
        except OSError:
            continue
        for link in filter(None, (_readlink(f"/proc/{pid}/fd/{fd}") for fd in fds)):
            inode = link.removeprefix("socket:[").removesuffix("]")
            if inode in inodes:
                command = " ".join(raw.decode(errors="replace").split())
                owners[inode] = f"pid {pid} ({command})"
    return owners


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:  # closed since listed (the listing's own descriptor, for one)
        return ""


# Functions a server's thread waits in: accept loops, socketserver's loop, a request handler.
_SERVING = ("serve_forever", "_handle_request_noblock", "_accept", "_serve", "handle_one_request")


def server_threads() -> list[str]:
    """This process's threads that serve sockets: the function each waits in, the server its
    thread was started for and what that server's sockets are now ("closed": a loop that
    outlived its server, which could accept or read on a descriptor number reused since).
    Read from each Thread's target and arguments: another thread's frame locals are not safe
    to read while it runs (CPython 3.11 can crash)."""
    frames = sys._current_frames()
    found = []
    for thread in threading.enumerate():
        frame = frames.get(thread.ident or 0)
        while frame is not None and frame.f_code.co_name not in _SERVING:
            frame = frame.f_back
        if frame is None:
            continue
        target = getattr(thread, "_target", None)
        owner = getattr(target, "__self__", None)
        held = [getattr(owner, name, None) for name in ("socket", "_listener")]
        held += list(getattr(thread, "_args", ()))  # a handler thread's (request, address)
        sockets = [sock for sock in held if isinstance(sock, socket.socket)]
        found.append(
            f"{thread.name}: {frame.f_code.co_name} of {type(owner).__name__} on "
            + (", ".join(map(_socket_now, sockets)) or "?")
        )
    return found


def _socket_now(sock: socket.socket) -> str:
    descriptor = sock.fileno()
    if descriptor == -1:
        return "closed"
    try:
        where = sock.getsockname()
        inode = os.fstat(descriptor).st_ino
    except OSError as exc:
        return f"fd {descriptor} ({exc.strerror})"
    return f"fd {descriptor} inode {inode} {where}"
