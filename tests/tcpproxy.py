"""A small TCP proxy on loopback that the fault tests put between the daemon and the server.

It forwards bytes both ways, one thread per direction, and can be told to misbehave:
``cut_after(pattern, response_bytes)`` cuts the next connection whose client sends
``pattern`` (say ``b"UID MOVE"``) once ``response_bytes`` of the server's answer have passed
(0: the command reaches the server, no answer comes back); ``stalled`` holds every answer
back (a server too slow for the client's timeout); ``refusing`` closes every new
connection at once (a server that is down). ``accepted``, ``cuts`` and ``downstream`` (bytes
the server sent through) count what happened.
"""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

CHUNK = 65536


@dataclass
class _Cut:
    pattern: bytes
    response_bytes: int


@dataclass
class _Link:
    client: socket.socket
    server: socket.socket
    budget: int | None = None          # answer bytes still allowed through before the cut
    closed: threading.Event = field(default_factory=threading.Event)

    def close(self) -> None:
        self.closed.set()
        for sock in (self.client, self.server):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


class TcpProxy:
    """``with TcpProxy(host, port) as proxy:`` — connect to ``proxy.port`` instead."""

    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self._listener = socket.create_server((host, 0))
        self.host, self.port = host, self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._cuts: list[_Cut] = []
        self._links: list[_Link] = []
        self.stalled = False
        self.refusing = False
        self.accepted = 0
        self.downstream = 0                # bytes passed from the server to the client
        self.cuts: list[bytes] = []        # the patterns that caused a cut, in order
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True, name="tcpproxy")

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()
        with self._lock:
            links = list(self._links)
        for link in links:
            link.close()
        self._thread.join(timeout=5)

    def cut_after(self, pattern: bytes, response_bytes: int = 0) -> None:
        """Arm one cut: the next command containing ``pattern`` gets at most
        ``response_bytes`` of its answer, then both sides are disconnected."""
        with self._lock:
            self._cuts.append(_Cut(pattern, response_bytes))

    @property
    def armed(self) -> int:
        with self._lock:
            return len(self._cuts)

    # -- plumbing ----------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
            if self.refusing:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            link = _Link(client, server)
            with self._lock:
                self._links.append(link)
            threading.Thread(target=self._upstream, args=(link,), daemon=True).start()
            threading.Thread(target=self._downstream, args=(link,), daemon=True).start()

    def _upstream(self, link: _Link) -> None:
        """Client -> server; arms a cut when a command matches."""
        while not link.closed.is_set():
            try:
                data = link.client.recv(CHUNK)
            except OSError:
                break
            if not data:
                break
            with self._lock:
                for cut in self._cuts:
                    if cut.pattern in data:
                        self._cuts.remove(cut)
                        self.cuts.append(cut.pattern)
                        link.budget = cut.response_bytes
                        break
            try:
                link.server.sendall(data)
            except OSError:
                break
            if link.budget == 0:
                time.sleep(0.2)              # let the server act on the command, then cut
                break
        link.close()

    def _downstream(self, link: _Link) -> None:
        """Server -> client; honours ``stalled`` and a cut's budget."""
        while not link.closed.is_set():
            try:
                data = link.server.recv(CHUNK)
            except OSError:
                break
            if not data:
                break
            while self.stalled and not link.closed.is_set():
                time.sleep(0.05)
            if link.budget is not None:
                data = data[:link.budget]
                link.budget -= len(data)
            with self._lock:
                self.downstream += len(data)
            try:
                link.client.sendall(data)
            except OSError:
                break
            if link.budget == 0:
                break
        link.close()
