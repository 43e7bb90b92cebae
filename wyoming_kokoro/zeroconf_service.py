"""Announce the server as `_wyoming._tcp.local.` with the machine's real LAN addresses."""

from __future__ import annotations

import ipaddress
import logging
import socket

from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

_LOGGER = logging.getLogger(__name__)
SERVICE_TYPE = "_wyoming._tcp.local."


def lan_addresses(host: str | None = None, *, ipv6: bool = True) -> list[str]:
    """Addresses Home Assistant can reach: a concrete bind host as is, else every non-loopback,
    non-link-local interface address (Home Assistant drops 0.0.0.0 and link-local). IPv6 ones only
    when the server also listens on IPv6 (`ipv6`), so no client is sent to a closed port."""
    if host and host not in ("0.0.0.0", "::", ""):
        return [host]
    import ifaddr  # a dependency of zeroconf

    found: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            addr = ip.ip if ip.is_IPv4 else ip.ip[0]
            parsed = ipaddress.ip_address(addr)
            if parsed.is_loopback or parsed.is_link_local or parsed.is_unspecified:
                continue
            if ip.is_IPv4 and host != "::":
                found.append(addr)
            elif ip.is_IPv6 and ipv6:
                found.append(addr)
    return found


def mdns_interfaces() -> list[str | int]:
    """Where to speak mDNS: every interface but loopback (IPv4 addresses, IPv6 interface indexes).
    Linux's `lo` has no MULTICAST flag, so zeroconf's default (all interfaces, ::1 included) logs an
    ENETUNREACH traceback at every start; multicast loopback still reaches listeners on this host."""
    import ifaddr  # a dependency of zeroconf

    found: list[str | int] = []
    for adapter in ifaddr.get_adapters():
        has_v6 = False
        for ip in adapter.ips:
            if ip.is_IPv4 and not ipaddress.ip_address(ip.ip).is_loopback:
                found.append(ip.ip)
            elif ip.is_IPv6 and not ipaddress.ip_address(ip.ip[0]).is_loopback:
                has_v6 = True
        if has_v6 and adapter.index is not None:
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
            _LOGGER.warning("Zeroconf: no LAN address found; not announcing")
            return
        self._info = AsyncServiceInfo(
            SERVICE_TYPE, f"{self.name}.{SERVICE_TYPE}",
            parsed_addresses=addresses, port=self.port, properties={},
            server=f"{socket.gethostname().split('.')[0]}.local.",
        )
        interfaces = self.interfaces or mdns_interfaces()
        kwargs = {"interfaces": interfaces} if interfaces else {}
        self._azc = AsyncZeroconf(ip_version=IPVersion.All, **kwargs)
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
