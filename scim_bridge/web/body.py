"""Request bodies read under a per-read timeout and an overall deadline.

A worker thread reading a body is a thread the bridge cannot use for anything else, so a client that sends
its headers and then stalls (or trickles a byte at a time) must not hold it for long. Every request's
``wsgi.input`` is replaced by a :class:`BoundedInput`, which is read lazily (nothing is read before the
views ask, and the SCIM views only ask after authentication):

- each read waits at most ``per_read`` seconds for the client's next bytes (a socket timeout);
- reading ends at the request's ``deadline`` even if bytes keep trickling in: a watchdog thread shuts the
  socket's read side at that moment, which ends the blocked read at once.

Either way the request is answered ``408`` and the server closes the connection (the unread rest of the
body makes it unusable). The read side is shut first: gunicorn's closing otherwise waits (in the worker's
main loop, up to 2 s per connection) for the client to stop sending. A request rejected before its body
was read (an unknown token) discards only what has already arrived, without waiting for more
(:meth:`BoundedInput.discard_unread`).
"""

from __future__ import annotations

import contextlib
import heapq
import io
import itertools
import os
import socket
import threading
import time
from typing import Any

from scim_bridge.scim import errors


class BodyTimeout(errors.ScimError):
    status = 408


class Watchdog:
    """One thread per process that shuts the read side of sockets whose body deadline has passed."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, socket.socket]] = []
        self._active: set[int] = set()
        self._ids = itertools.count()
        self._pid = 0

    def watch(self, deadline: float, sock: socket.socket) -> int:
        with self._cond:
            if self._pid != os.getpid():  # first use in this (forked) worker process
                self._pid = os.getpid()
                self._heap, self._active = [], set()
                threading.Thread(target=self._run, name="body-deadline", daemon=True).start()
            ident = next(self._ids)
            heapq.heappush(self._heap, (deadline, ident, sock))
            self._active.add(ident)
            self._cond.notify()
            return ident

    def release(self, ident: int) -> None:
        with self._cond:
            self._active.discard(ident)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][1] not in self._active:
                    heapq.heappop(self._heap)  # released before its deadline
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, ident, sock = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                self._active.discard(ident)
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RD)  # the blocked read returns at once; the answer can still be sent


WATCHDOG = Watchdog()


def request_socket(environ: dict[str, Any]) -> socket.socket | None:
    """The client connection of a request under gunicorn or Werkzeug's server (None elsewhere)."""
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    return sock if isinstance(sock, socket.socket) else None


class BoundedInput(io.RawIOBase):
    """``wsgi.input`` whose reads wait at most ``per_read`` seconds each and end at ``deadline``."""

    def __init__(self, stream: Any, sock: socket.socket | None, *, per_read: float, deadline: float,
                 gunicorn: bool = False) -> None:
        super().__init__()
        self._stream = stream
        self._sock = sock
        self._per_read = per_read
        self._span = deadline
        self._deadline = time.monotonic() + deadline
        self._gunicorn = gunicorn
        self.started = False  # something was read (or tried)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data: bytes = self._call(self._stream.read, -1 if size is None else size)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        data: bytes = self._call(self._stream.readline, -1 if size is None else size)
        return data

    def _call(self, method: Any, size: int) -> Any:
        self.started = True
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise self._timeout()
        if self._sock is None:
            return method(size)
        prior = self._sock.gettimeout()
        watch = WATCHDOG.watch(self._deadline, self._sock)
        try:
            self._sock.settimeout(min(self._per_read, remaining))
            data = method(size)
        except TimeoutError:
            self._give_up()
            raise self._timeout() from None
        except Exception:
            if time.monotonic() >= self._deadline:  # the watchdog cut the read short mid-chunk
                raise self._timeout() from None
            raise
        finally:
            WATCHDOG.release(watch)
            with contextlib.suppress(OSError):
                self._sock.settimeout(prior)
        if time.monotonic() >= self._deadline:  # the watchdog ended the read: what came is incomplete
            raise self._timeout()
        return data

    def _timeout(self) -> BodyTimeout:
        return BodyTimeout(
            f"The request body did not arrive in time (each read waits {self._per_read:g} s, the whole body "
            f"{self._span:g} s); send the whole body at once"
        )

    def _give_up(self) -> None:
        """Shut the read side: the server's closing of the connection then needs no wait for the client."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RD)

    def discard_unread(self, limit: int) -> None:
        """After answering a request whose body was never read, drop what has arrived without waiting for more.

        A body still on its way makes the read fail at once, and gunicorn then closes the connection instead
        of waiting for (draining) the rest; a body already received is consumed and the connection stays
        usable. Under other servers nothing is done.
        """
        if self.started or self._sock is None or not self._gunicorn:
            return
        prior = self._sock.gettimeout()
        taken = 0
        try:
            self._sock.settimeout(0.0)
            while taken <= limit:
                data = self._stream.read(65536)
                if not data:
                    break
                taken += len(data)
        except Exception:  # noqa: BLE001 - stalled, malformed or reset: the server closes the connection
            self._give_up()
        finally:
            with contextlib.suppress(OSError):
                self._sock.settimeout(prior)


def install(environ: dict[str, Any], *, per_read: float, deadline: float) -> BoundedInput:
    """Replace ``wsgi.input`` by a :class:`BoundedInput` ending ``deadline`` seconds from now."""
    bounded = BoundedInput(environ["wsgi.input"], request_socket(environ), per_read=per_read, deadline=deadline,
                           gunicorn="gunicorn.socket" in environ)
    environ["wsgi.input"] = bounded
    return bounded


def has_body(environ: dict[str, Any]) -> bool:
    length = environ.get("CONTENT_LENGTH") or ""
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return chunked or (length.isdigit() and int(length) > 0)


def buffer_streamed(environ: dict[str, Any], limit: int) -> None:
    """Read a body sent without Content-Length (chunked) now, so one larger than ``limit`` is a 413.

    Werkzeug only caps such a stream at MAX_CONTENT_LENGTH and hands the application the truncated start,
    which could parse as a different, smaller request.
    """
    if environ.get("CONTENT_LENGTH") or not environ.get("wsgi.input_terminated") or not has_body(environ):
        return
    stream = environ["wsgi.input"]
    data = bytearray()
    while len(data) <= limit:
        chunk = stream.read(min(65536, limit + 1 - len(data)))
        if not chunk:
            break
        data += chunk
    if len(data) > limit:
        raise errors.PayloadTooLarge(f"The request body exceeds {limit} bytes")
    environ["wsgi.input"] = io.BytesIO(bytes(data))
    environ["CONTENT_LENGTH"] = str(len(data))
    environ.pop("wsgi.input_terminated", None)
