"""One place that decides what an e-mail address is: the key suppressions are stored under.

Addresses are compared case-insensitively (as list managers do) and stored lowercased.
Anything that does not look like a plain ``local@domain.tld`` is refused: a malformed
address is never suppressed, never exported and never allow-listed.
"""
from __future__ import annotations

import re

# Characters that never appear in a plain (unquoted) address; whitespace and controls included.
_FORBIDDEN = re.compile(r'[\s\x00-\x1f\x7f<>()\[\],;:\\"]')
_DOMAIN_LABEL = re.compile(r"^(?!-)[^\W_]([\w-]*[^\W_])?$")  # letters/digits (any script), inner '-'


def normalize_address(text: str) -> str | None:
    """The canonical form of ``text`` (lowercased, trimmed), or None when it is malformed."""
    address = text.strip().lower()
    if len(address) > 254 or _FORBIDDEN.search(address) or address.count("@") != 1:
        return None
    local, domain = address.split("@")
    domain = domain.rstrip(".")
    if not local or len(local) > 64 or local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    if not valid_domain(domain):
        return None
    return f"{local}@{domain}"


def valid_domain(domain: str) -> bool:
    """A dotted domain name of non-empty labels (internationalised names allowed)."""
    labels = domain.split(".")
    return len(labels) >= 2 and all(len(lb) <= 63 and _DOMAIN_LABEL.match(lb) for lb in labels)


def allow_matches(address: str, allow: tuple[str, ...]) -> bool:
    """True when ``address`` (normalised) is on the allow-list: exact, or ``*@domain``."""
    domain = address.rpartition("@")[2]
    return address in allow or f"*@{domain}" in allow
