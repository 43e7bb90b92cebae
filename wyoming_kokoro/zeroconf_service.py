"""Announce the server as `_wyoming._tcp.local.` with the machine's real LAN addresses."""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from zeroconf import InterfaceChoice, IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

if TYPE_CHECKING:
    import ifaddr

_LOGGER = logging.getLogger(__name__)
SERVICE_TYPE = "_wyoming._tcp.local."


def _interface_addresses() -> Iterator[tuple[ifaddr.Adapter, ipaddress.IPv4Address | ipaddress.IPv6Address]]:
    """(ifaddr adapter, address) for every address of every interface."""
    import ifaddr  # a dependency of zeroconf

    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            # ifaddr gives IPv4 as a str, IPv6 as (address, flowinfo, scope_id).
            yield adapter, ipaddress.ip_address(ip.ip if isinstance(ip.ip, str) else ip.ip[0])


def _reachable(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """An address a LAN client can connect to: not loopback, link-local, unspecified or multicast."""
    return not (addr.is_loopback or addr.is_link_local or addr.is_unspecified or addr.is_multicast)


def lan_addresses(host: str | None = None, *, ipv6: bool = True) -> list[str]:
    """Addresses Home Assistant can reach: a concrete bind host only if it is one of this machine's
    interface addresses that a LAN client can reach (not loopback, link-local or a foreign address:
    announcing one sends Home Assistant nowhere; a warning says why nothing is announced), else every
    such interface address (Home Assistant drops 0.0.0.0 and link-local). IPv6 ones only when the
    server also listens on IPv6 (`ipv6`), so no client is sent to a closed port."""
    if host and host not in ("0.0.0.0", "::", ""):
        try:
            wanted = {ipaddress.ip_address(host.strip("[]").split("%", 1)[0])}
        except ValueError:  # a host name: what it resolves to here
            try:
                wanted = {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
                          for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}
            except (OSError, ValueError):
                wanted = set()
        own = {addr for _adapter, addr in _interface_addresses()}
        usable = [str(addr) for addr in sorted(wanted, key=str) if _reachable(addr) and addr in own]
        if not usable:
            _LOGGER.warning("Zeroconf: --uri host %s is not an address a LAN client can reach (loopback, "
                            "link-local or not this machine's); bind to 0.0.0.0 or a LAN address to be "
                            "discovered", host)
        return usable
    found: list[str] = []
    for _adapter, addr in _interface_addresses():
        if not _reachable(addr):
            continue
        if (addr.version == 4 and host != "::") or (addr.version == 6 and ipv6):
            found.append(str(addr))
    return found


def mdns_interfaces() -> list[str | int]:
    """Where to speak mDNS: every interface but loopback (IPv4 addresses, IPv6 interface indexes).
    Linux's `lo` has no MULTICAST flag, so zeroconf's default (all interfaces, ::1 included) logs an
    ENETUNREACH traceback at every start; multicast loopback still reaches listeners on this host."""
    found: list[str | int] = []
    for adapter, addr in _interface_addresses():
        if addr.is_loopback:
            continue
        if addr.version == 4:
            found.append(str(addr))
        elif adapter.index is not None and adapter.index not in found:
            found.append(adapter.index)
    return found


class ZeroconfService:
    def __init__(self, name: str, port: int, host: str | None = None, interfaces: list[str] | None = None,
                 *, ipv6: bool = True) -> None:
        self.name, self.port, self.host, self.ipv6 = name, port, host, ipv6
        self.interfaces = interfaces
        self._azc: AsyncZeroconf | None = None
        self._info: AsyncServiceInfo | None = None

    async def register(self) -> None:
        addresses = lan_addresses(self.host, ipv6=self.ipv6)
        if not addresses:
            _LOGGER.warning("Zeroconf: no LAN address to announce; not announcing")
            return
        self._info = AsyncServiceInfo(
            SERVICE_TYPE, f"{self.name}.{SERVICE_TYPE}",
            parsed_addresses=addresses, port=self.port, properties={},
            server=f"{socket.gethostname().split('.')[0]}.local.",
        )
        interfaces: Sequence[str | int] = self.interfaces or mdns_interfaces()
        # None found: zeroconf's default, all interfaces.
        self._azc = AsyncZeroconf(interfaces=interfaces or InterfaceChoice.All, ip_version=IPVersion.All)
        await self._azc.async_register_service(self._info, allow_name_change=True)
        _LOGGER.info("Zeroconf: announced %s on %s port %d", self._info.name, ", ".join(addresses), self.port)

    async def unregister(self) -> None:
        if self._azc is None:
            return
        if self._info is not None:
            # The call only schedules the goodbye packets: await them before closing the sockets,
            # or Home Assistant keeps the stale entry until the TTL expires.
            goodbyes = await self._azc.async_unregister_service(self._info)
            await goodbyes
        await self._azc.async_close()
        self._azc = None
