"""The bounds of a client's connection, one set for both protocols (`handler` for Wyoming, `http_api`
for HTTP): which host a client is (`client_host`), what each host holds open (`Tally`: connections,
speech jobs), the JSON a client may send (`read_json`), and how long a write may wait for a client
that does not read (`write_within`, `ClientGone`), and how a connection ends so that its last words
arrive (`close_gently`). What one request may ask for (its text, its audio,
jobs in all) is the service's, not a connection's."""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import Any

from .errors import Code, RequestError

_LOGGER = logging.getLogger(__name__)

# Objects and arrays nested in one JSON value: a Wyoming event's header or data block, or an HTTP
# body. A request needs three levels (Wyoming's data → voice → name; OpenAI's body is one flat
# object); 16 leaves room for fields a protocol adds while staying far below where a deep value
# raises RecursionError in the JSON reader, or in whoever walks it after.
MAX_JSON_DEPTH = 16

# A lone surrogate (`"\ud800"` is valid JSON, not Unicode): no UTF-8 writer can echo it, no parser read it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def client_host(address: str) -> str:
    """The host a connection comes from, for the per-client caps: the address itself, not its
    spelling (an IPv4-mapped IPv6 address is its IPv4 one, a scope or a leading zero changes
    nothing), and an IPv6 client by its /64, the block one host gets from its router (counted by
    the string, one host could take every connection with addresses of its own)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address  # a unix socket's peer, "local"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class Tally:
    """What client hosts hold open (connections, speech jobs), by host, for the caps on them: one
    in all and one per host. Iterating gives what is held (a connection's handler, say). Touched
    on the event loop only."""

    def __init__(self) -> None:
        self._held: dict[str | None, set[Any]] = {}
        self._total = 0

    def __len__(self) -> int:
        return self._total

    def __iter__(self) -> Iterator[Any]:
        return iter([item for items in self._held.values() for item in items])

    def held_by(self, host: str | None) -> int:
        return len(self._held.get(host, ()))

    def refusal(self, host: str | None, what: str, *, limit: int | None = None, per_host: int | None = None,
                code: str = Code.TOO_MANY_CONNECTIONS, option: str = "") -> RequestError | None:
        """Why one more of `what` ("connections open") from `host` is refused, if it is: `limit` held
        in all, or `per_host` held by this host (None: no such cap; `host` None: not known yet)."""
        hint = f" ({option})" if option else ""
        if limit is not None and self._total >= limit:
            return RequestError(f"more than {limit} {what}{hint}", code=code)
        if per_host is not None and host is not None and self.held_by(host) >= per_host:
            return RequestError(f"more than {per_host} {what} from {host}{hint}", code=code)
        return None

    def add(self, host: str | None, item: Any) -> None:
        items = self._held.setdefault(host, set())
        if item not in items:
            items.add(item)
            self._total += 1

    def discard(self, host: str | None, item: Any) -> None:
        items = self._held.get(host)
        if items is None or item not in items:
            return
        items.remove(item)
        self._total -= 1
        if not items:
            del self._held[host]

    @contextmanager
    def holding(self, host: str | None) -> Iterator[None]:
        """One more held by `host` while the block runs."""
        token = object()
        self.add(host, token)
        try:
            yield
        finally:
            self.discard(host, token)


def has_surrogate(value: str) -> bool:
    return _SURROGATE.search(value) is not None


def _not_a_number(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_json(raw: bytes, *, allow_nan: bool) -> Any:
    """A client's JSON value, or ValueError (with a message for the client): not UTF-8, not JSON, an
    integer past Python's digit limit, nested deeper than MAX_JSON_DEPTH, or a string or key with a
    lone surrogate. `allow_nan`: NaN and Infinity (Python's, not JSON's) are read as numbers, for a
    protocol whose reference writer sends them (the `wyoming` library writes Python's JSON); the field
    that holds one checks it. Python's parser itself stops at its recursion limit, which is caught; the
    depth is then checked exactly, without recursion."""
    too_deep = ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=None if allow_nan else _not_a_number)
    except RecursionError:
        raise too_deep from None
    except UnicodeDecodeError as err:
        raise ValueError(f"not UTF-8: {err}") from None
    except ValueError as err:  # JSONDecodeError, the digit limit, NaN
        raise ValueError(f"not JSON: {err}") from None
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str) and has_surrogate(item) \
                or isinstance(item, dict) and any(has_surrogate(key) for key in item):
            raise ValueError("a string holds a lone surrogate (\\ud800-\\udfff): not Unicode text")
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise too_deep
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return value


class ClientGone(ConnectionResetError):
    """The client has gone, or stopped reading for the write timeout: its connection is closed."""


def departed(transport: asyncio.BaseTransport | None) -> bool:
    """Whether a connection's client has gone (its transport closed or closing)."""
    return transport is None or transport.is_closing()


async def write_within(write: Awaitable[Any], transport: asyncio.WriteTransport | None, timeout: float,
                       protocol: str) -> None:
    """Await a write; a client that takes none of it for `timeout` seconds (0: no limit) loses its
    connection (ClientGone). Its job has paused meanwhile: the worker keeps a job at most a chunk or
    two ahead of its reader, so a client that does not read holds no more than that."""
    if timeout <= 0:
        await write
        return
    try:
        async with asyncio.timeout(timeout):
            await write
    except TimeoutError:
        if transport is not None and not transport.is_closing():
            _LOGGER.warning("Closing a %s connection whose client stopped reading for %g s", protocol, timeout)
        if transport is not None:
            transport.abort()
        raise ClientGone("the client stopped reading") from None


# What a client may still send after the server has said its last word, and for how long it is read
# (and thrown away) before the socket closes regardless.
LINGER_BYTES = 64 * 1024
LINGER_S = 2.0


async def close_gently(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       timeout: float = LINGER_S, max_bytes: int = LINGER_BYTES) -> None:
    """Close a connection so that what was written last (a refusal, an error) reaches the client. A
    socket closed with input still unread makes the kernel send a reset instead of an end of stream,
    and a reset can overtake the bytes before it: the client sees "connection reset" where it should
    read our error and then the end. So: end our side first, then read and discard what the client
    still sends, until it closes too, `max_bytes` have come, or `timeout` seconds have passed."""
    if writer.transport.is_closing():  # aborted or closed already: nothing more to deliver
        return
    try:
        if writer.can_write_eof():
            writer.write_eof()
        async with asyncio.timeout(timeout):
            left = max_bytes
            while left > 0 and (data := await reader.read(min(left, 16 * 1024))):
                left -= len(data)
    except OSError:  # a reset, or the linger's time is up (TimeoutError is an OSError)
        pass
    finally:
        writer.close()
