# SPDX-License-Identifier: MIT
"""Client for tvtokend, the broker of one shared Tradovate access token.

tvtokend owns the token and serves it to local processes over a Varlink
socket (interface io.tvtokend.Broker: one JSON object and a NUL byte per
message). This module speaks that protocol with the standard library only::

    import tvtoken

    client = tvtoken.Client()              # $TVTOKEN_SOCKET, else the default socket
    token = client.get_token(wait=30)      # wait up to 30 s for a token
    ...                                    # use token.access_token
    # on an HTTP 401 from Tradovate:
    token = client.report_rejected(token.generation)

Every call opens its own connection and closes it, so a Client may be shared
between threads. Tokens never appear in a repr, a str or an exception text.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import socket
import time
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, Optional, Union

__all__ = [
    "SOCKET_DEFAULT",
    "SOCKET_ENV",
    "Token",
    "Client",
    "BrokerError",
    "NoToken",
    "PermissionDenied",
    "ConnectError",
    "Timeout",
    "ProtocolError",
    "instance_socket",
]

#: The socket used when neither a path, an instance nor $TVTOKEN_SOCKET is given.
SOCKET_DEFAULT = "/run/tvtokend/io.tvtokend.Broker"
#: The environment variable that overrides the default socket.
SOCKET_ENV = "TVTOKEN_SOCKET"
#: Where instance NAME (tvtokend@NAME) has its socket: /run/tvtokend/NAME/io.tvtokend.Broker.
INSTANCE_DIR = "/run/tvtokend"
#: Largest message accepted, in bytes before its NUL (as the broker's own limit).
MESSAGE_MAX = 65536
#: How long calls the broker answers at once may take, in seconds.
CALL_TIMEOUT = 10.0

_BROKER = "io.tvtokend.Broker"
_NO_TOKEN = _BROKER + ".NoToken"
_PERMISSION_DENIED = "org.varlink.service.PermissionDenied"
_RFC3339 = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)\Z"
)


def _parse_time(text: str) -> datetime.datetime:
    """An RFC 3339 time as an aware datetime in UTC; ValueError when malformed."""
    m = _RFC3339.match(text)
    if m is None:
        raise ValueError("not an RFC 3339 time")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    zone = m.group(8)
    if zone in ("Z", "z"):
        tz = datetime.timezone.utc
    else:
        sign = -1 if zone[0] == "-" else 1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError("bad UTC offset")
        tz = datetime.timezone(sign * datetime.timedelta(hours=hours, minutes=minutes))
    leap = second == 60
    t = datetime.datetime(
        year, month, day, hour, minute, 59 if leap else second, micro, tzinfo=tz
    )
    if leap:
        t += datetime.timedelta(seconds=1)
    return t.astimezone(datetime.timezone.utc)


def instance_socket(name: str) -> str:
    """The socket of tvtokend@NAME; ValueError for a name that is not one path component."""
    if not name or "/" in name or name in (".", "..") or "\0" in name:
        raise ValueError("invalid instance name: expected the NAME of tvtokend@NAME")
    return f"{INSTANCE_DIR}/{name}/{_BROKER}"


@dataclass(frozen=True)
class Token:
    """A token as the broker serves it (the Token type of io.tvtokend.Broker).

    access_token and md_access_token are left out of repr() and str().
    """

    access_token: str = field(repr=False)
    #: The market-data token; None when the broker has none.
    md_access_token: Optional[str] = field(repr=False)
    #: When the token expires, aware and in UTC, on this host's clock.
    expiration_time: datetime.datetime
    user_id: Optional[int]
    name: Optional[str]
    #: +1 every time the broker's token changes.
    generation: int

    def remaining(self, now: Optional[datetime.datetime] = None) -> float:
        """Seconds of life the token has left (negative once it has expired)."""
        if now is None:
            now = datetime.datetime.now(datetime.timezone.utc)
        return (self.expiration_time - now).total_seconds()


class BrokerError(Exception):
    """A call to the broker failed. Base class of every error of this module.

    error: the Varlink error name when the broker answered with one, else None.
    parameters: that error's parameters (never a token).
    """

    def __init__(
        self,
        message: str,
        error: Optional[str] = None,
        parameters: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.error = error
        self.parameters: Dict[str, Any] = parameters if parameters is not None else {}


class NoToken(BrokerError):
    """The broker has no valid token now (io.tvtokend.Broker.NoToken).

    state: the broker's state ("backoff", "credentials_rejected", ...);
    reason: why, for people; retry_at: when the broker will next try
    (aware datetime in UTC), or None when it will not on its own.
    """

    def __init__(self, parameters: Dict[str, Any]) -> None:
        state = parameters.get("state")
        reason = parameters.get("reason")
        retry = parameters.get("retryAt")
        self.state: str = state if isinstance(state, str) else "unknown"
        self.reason: str = reason if isinstance(reason, str) else "no valid token"
        self.retry_at: Optional[datetime.datetime] = None
        if isinstance(retry, str):
            try:
                self.retry_at = _parse_time(retry)
            except ValueError:
                pass
        message = f"no token: {_printable(self.reason)} (state {_printable(self.state)}"
        if self.retry_at is not None:
            message += ", retry at " + self.retry_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        super().__init__(message + ")", _NO_TOKEN, parameters)


class PermissionDenied(BrokerError, PermissionError):
    """The socket or the broker's AllowUsers=/AllowGroups= do not admit this user."""


class ConnectError(BrokerError, ConnectionError):
    """Cannot connect to the socket, or the broker hung up."""


class Timeout(BrokerError, TimeoutError):
    """No answer within the time given."""


class ProtocolError(BrokerError):
    """A reply that is not what the interface promises."""


def _printable(text: str) -> str:
    """text with control characters replaced, fit for a message."""
    return "".join("?" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in text)


def _token_from(params: Dict[str, Any]) -> Token:
    """The Token in the parameters of a GetToken or ReportRejected reply."""
    found = params.get("token")
    if not isinstance(found, dict):
        raise ProtocolError("the broker's reply has no token")
    t: Dict[str, Any] = found

    def string(key: str, required: bool) -> Optional[str]:
        v = t.get(key)
        if v is None and not required:
            return None
        if not isinstance(v, str) or (required and v == ""):
            raise ProtocolError(f"the broker's token has a bad {key}")
        return v

    def integer(key: str, required: bool) -> Optional[int]:
        v = t.get(key)
        if v is None and not required:
            return None
        if type(v) is not int:
            raise ProtocolError(f"the broker's token has a bad {key}")
        return v

    access = string("accessToken", True)
    expiration = string("expirationTime", True)
    generation = integer("generation", True)
    assert access is not None and expiration is not None and generation is not None
    if generation < 0:
        raise ProtocolError("the broker's token has a bad generation")
    try:
        when = _parse_time(expiration)
    except ValueError:
        raise ProtocolError("the broker's token has a bad expirationTime") from None
    return Token(
        access_token=access,
        md_access_token=string("mdAccessToken", False),
        expiration_time=when,
        user_id=integer("userId", False),
        name=string("name", False),
        generation=generation,
    )


class _Connection:
    """One Varlink connection: send calls, read NUL-framed replies before deadlines."""

    def __init__(self, path: str, deadline: Optional[float]) -> None:
        self.path = path
        self.buf = bytearray()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.settimeout(self._left(deadline))
            self.sock.connect(path)
        except BaseException as e:
            self.sock.close()
            raise self._error(e) from None

    def close(self) -> None:
        """Hang up, wiping what was received and not consumed."""
        self.sock.close()
        self._wipe(len(self.buf))

    def _wipe(self, n: int) -> None:
        """Overwrite and drop the first n bytes of the buffer (they may hold a token)."""
        self.buf[:n] = bytes(n)
        del self.buf[:n]

    @staticmethod
    def _left(deadline: Optional[float]) -> Optional[float]:
        """Seconds left before deadline (a time.monotonic() value); None for no deadline."""
        if deadline is None:
            return None
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout("timed out waiting for the token broker")
        return left

    def _error(self, e: BaseException) -> BaseException:
        """The module's exception for an OS error on the socket."""
        if isinstance(e, BrokerError):
            return e
        if isinstance(e, socket.timeout):
            return Timeout(f"{self.path} did not answer in time")
        if isinstance(e, PermissionError):
            return PermissionDenied(
                f"cannot connect to {self.path}: permission denied "
                "(ask an administrator to add you to the tvtoken group)"
            )
        if isinstance(e, OSError):
            return ConnectError(
                f"cannot connect to {self.path}: {e.strerror or e} (is tvtokend running?)"
            )
        return e

    def send(self, call: Dict[str, Any], deadline: Optional[float]) -> None:
        """Send one call and its NUL."""
        data = json.dumps(call, separators=(",", ":")).encode() + b"\0"
        try:
            self.sock.settimeout(self._left(deadline))
            self.sock.sendall(data)
        except OSError as e:
            raise self._error(e) from None

    def receive(self, deadline: Optional[float]) -> Dict[str, Any]:
        """The next reply: its parameters, or the exception its error names.

        Replies that continue a stream carry "continues": true in the returned
        dict's "continues" key (the parameters are under "parameters").
        """
        while True:
            end = self.buf.find(b"\0")
            if end >= 0:
                break
            if len(self.buf) > MESSAGE_MAX:
                raise ProtocolError(f"{self.path} sent a message larger than {MESSAGE_MAX} bytes")
            try:
                self.sock.settimeout(self._left(deadline))
                chunk = self.sock.recv(MESSAGE_MAX + 1 - len(self.buf))
            except OSError as e:
                raise self._error(e) from None
            if not chunk:
                raise ConnectError(f"{self.path} closed the connection (is tvtokend still running?)")
            self.buf += chunk
        if end > MESSAGE_MAX:
            raise ProtocolError(f"{self.path} sent a message larger than {MESSAGE_MAX} bytes")
        raw = bytes(self.buf[:end])
        self._wipe(end + 1)
        try:
            reply = json.loads(raw)
        except (ValueError, RecursionError):
            reply = None
        if not isinstance(reply, dict):
            raise ProtocolError(f"{self.path} sent a reply that is not a JSON object")
        params = reply.get("parameters", {})
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise ProtocolError(f"{self.path} sent parameters that are not an object")
        continues = reply.get("continues", False)
        if not isinstance(continues, bool):
            raise ProtocolError(f"{self.path} sent a bad \"continues\"")
        if "error" in reply:
            name = reply["error"]
            if not isinstance(name, str) or not name:
                raise ProtocolError(f"{self.path} sent a bad error name")
            if name == _NO_TOKEN:
                raise NoToken(params)
            if name == _PERMISSION_DENIED:
                raise PermissionDenied(
                    f"{self.path}: permission denied: the broker does not admit this user "
                    "(AllowUsers=/AllowGroups= in its configuration)",
                    name,
                    params,
                )
            details = ", ".join(
                f"{k}: {_printable(str(v))}" for k, v in params.items() if isinstance(v, (str, int))
            )
            raise BrokerError(
                f"the broker answered {_printable(name)}" + (f" ({details})" if details else ""),
                name,
                params,
            )
        return {"parameters": params, "continues": continues}


class Client:
    """A handle for one tvtokend broker.

    socket: the broker's socket path; instance: the NAME of tvtokend@NAME
    (its socket is /run/tvtokend/NAME/io.tvtokend.Broker). With neither,
    $TVTOKEN_SOCKET when set and not empty, else SOCKET_DEFAULT.
    timeout: how long calls the broker answers at once may take, in seconds.
    """

    def __init__(
        self,
        socket: Optional[str] = None,
        instance: Optional[str] = None,
        timeout: float = CALL_TIMEOUT,
    ) -> None:
        if socket is not None and instance is not None:
            raise ValueError("give socket or instance, not both")
        if instance is not None:
            path = instance_socket(instance)
        elif socket is not None:
            path = socket
        else:
            path = os.environ.get(SOCKET_ENV) or SOCKET_DEFAULT
        if not path or "\0" in path or len(os.fsencode(path)) >= 108:
            raise ValueError("invalid socket path")
        if timeout <= 0:
            raise ValueError("timeout must be greater than 0")
        self.socket = path
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"Client(socket={self.socket!r})"

    def _deadline(self, seconds: Optional[float]) -> Optional[float]:
        """The time.monotonic() deadline seconds from now; None waits forever."""
        return None if seconds is None else time.monotonic() + seconds

    def _call(
        self, method: str, parameters: Dict[str, Any], deadline: Optional[float]
    ) -> Dict[str, Any]:
        """Make one call on a new connection; the reply's parameters."""
        conn = _Connection(self.socket, deadline)
        try:
            conn.send({"method": f"{_BROKER}.{method}", "parameters": parameters}, deadline)
            reply = conn.receive(deadline)
        finally:
            conn.close()
        if reply["continues"]:
            raise ProtocolError(f"{self.socket} sent a stream to a plain call")
        params: Dict[str, Any] = reply["parameters"]
        return params

    def get_token(self, wait: Union[bool, float] = False) -> Token:
        """The current token.

        wait=False (or 0): NoToken at once when the broker has none. wait=True: wait
        until it has one, or gives up (NoToken: credentials rejected, locked
        out, rate limited by Tradovate). wait=SECONDS: the same for at most
        that long, then Timeout.
        """
        if wait is False or (type(wait) in (int, float) and wait == 0):
            return _token_from(self._call("GetToken", {"wait": False}, self._deadline(self.timeout)))
        if wait is True:
            deadline = None
        elif type(wait) in (int, float) and wait > 0:
            deadline = self._deadline(float(wait))
        else:
            raise ValueError("wait must be a bool or a number of seconds >= 0")
        return _token_from(self._call("GetToken", {"wait": True}, deadline))

    def report_rejected(self, generation: int, timeout: Optional[float] = 60.0) -> Token:
        """Tell the broker Tradovate refused the token of this generation.

        The broker renews it if it is still current (once, however many
        clients report it) and answers with the token to use now; for an
        older generation it answers at once with the current one. timeout:
        at most this many seconds (None: as long as the renewal takes).
        """
        if type(generation) is not int or generation < 0:
            raise ValueError("generation must be an int >= 0")
        return _token_from(
            self._call("ReportRejected", {"generation": generation}, self._deadline(timeout))
        )

    def status(self) -> Dict[str, Any]:
        """The broker's state (the GetStatus parameters: state, generation,
        expirationTime, nextRenewal, retryAt, lastError, counters, ...).
        Never contains a token."""
        return self._call("GetStatus", {}, self._deadline(self.timeout))

    def watch(self, wait: bool = False) -> Iterator[Token]:
        """The current token, then one more at every change, as long as the
        caller keeps iterating (closing the iterator hangs up).

        Raises NoToken when the broker has no token (at the start without
        wait, or when it loses its token), ConnectError when it goes away.
        """
        conn = _Connection(self.socket, self._deadline(self.timeout))
        try:
            conn.send(
                {"method": f"{_BROKER}.GetToken", "parameters": {"wait": bool(wait)}, "more": True},
                self._deadline(self.timeout),
            )
            while True:
                reply = conn.receive(None)
                yield _token_from(reply["parameters"])
                if not reply["continues"]:
                    return
        finally:
            conn.close()
