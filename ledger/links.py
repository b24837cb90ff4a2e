"""Where a site's public pages are: a part's verification page and the status lists."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PublicLinks:
    """Where the site publishes what a credential points to: the part's verification page and
    the status lists (``<base>/verify/<serial>``, ``<base>/status/<purpose>``); with no base
    (``ledger.public_base_url`` unset), urn: names that identify but cannot be looked up."""

    base_url: str = ""

    def verify_url(self, serial: str) -> str:
        if not self.base_url:
            return f"urn:trustfloor:part:{serial}"
        return f"{self.base_url.rstrip('/')}/verify/{serial}"

    def status_list_url(self, purpose: str) -> str:
        if not self.base_url:
            return f"urn:trustfloor:status:{purpose}"
        return f"{self.base_url.rstrip('/')}/status/{purpose}"

    def certificate_url(self, serial: str) -> str:
        """The ``verify_url`` a certificate carries: empty while no public base is configured."""
        return self.verify_url(serial) if self.base_url else ""
