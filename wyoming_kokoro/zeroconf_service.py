"""Announce the server as `_wyoming._tcp.local.` with the machine's real LAN addresses."""

from __future__ import annotations

import ipaddress
import logging
import socket

from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

_LOGGER = logging.getLogger(__name__)
SERVICE_TYPE = "_wyoming._tcp.local."


def lan_addresses(host: str | None = None) -> list[str]:
    """Addresses Home Assistant can reach: a concrete bind host as is, else every non-loopback,
    non-link-local interface address (Home Assistant drops 0.0.0.0 and link-local)."""
    if host and host not in ("0.0.0.0", "::", ""):
        return [host]
    from zeroconf._utils.net import get_all_addresses, get_all_addresses_v6

    found: list[str] = []
    for addr in get_all_addresses():
        ip = ipaddress.ip_address(addr)
        if not (ip.is_loopback or ip.is_link_local or ip.is_unspecified):
            found.append(addr)
    if host != "0.0.0.0":  # bound to :: or all: add IPv6 where present
        for (addr, _flow, _scope), _idx in get_all_addresses_v6():
            ip = ipaddress.ip_address(addr)
            if not (ip.is_loopback or ip.is_link_local or ip.is_unspecified):
                found.append(addr)
    else:
        for (addr, _flow, _scope), _idx in get_all_addresses_v6():
            ip = ipaddress.ip_address(addr)
            if not (ip.is_loopback or ip.is_link_local):
                found.append(addr)
    return found


class ZeroconfService:
    def __init__(self, name: str, port: int, host: str | None = None, interfaces: list[str] | None = None) -> None:
        self.name, self.port, self.host = name, port, host
        self.interfaces = interfaces
        self._azc: AsyncZeroconf | None = None
        self._info: AsyncServiceInfo | None = None

    async def register(self) -> None:
        addresses = lan_addresses(self.host)
        if not addresses:
            _LOGGER.warning("Zeroconf: no LAN address found; not announcing")
            return
        self._info = AsyncServiceInfo(
            SERVICE_TYPE, f"{self.name}.{SERVICE_TYPE}",
            parsed_addresses=addresses, port=self.port, properties={},
            server=f"{socket.gethostname().split('.')[0]}.local.",
        )
        kwargs = {"interfaces": self.interfaces} if self.interfaces else {}
        self._azc = AsyncZeroconf(ip_version=IPVersion.All, **kwargs)
        await self._azc.async_register_service(self._info, allow_name_change=True)
        _LOGGER.info("Zeroconf: announced %s on %s port %d", self._info.name, ", ".join(addresses), self.port)

    async def unregister(self) -> None:
        if self._azc is None:
            return
        if self._info is not None:
            await self._azc.async_unregister_service(self._info)
        await self._azc.async_close()
        self._azc = None
