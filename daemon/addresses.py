"""One place that decides what an e-mail address is: the key suppressions are stored under.

Addresses are compared case-insensitively (as list managers do) and stored lowercased.
Anything that does not look like a plain ``local@domain.tld`` is refused: a malformed
address is never suppressed, never exported and never allow-listed.
"""
from __future__ import annotations

import re

# Characters that never appear in a plain (unquoted) address; whitespace and controls included.
_FORBIDDEN = re.compile(r'[\s\x00-\x1f\x7f<>()\[\],;:\\"]')
_DOMAIN_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")  # as the matcher's


def normalize_address(text: str) -> str | None:
    """The canonical form of ``text`` (lowercased, trimmed), or None when it is malformed."""
    address = text.strip().lower()
    if len(address) > 254 or _FORBIDDEN.search(address) or address.count("@") != 1:
        return None
    local, domain = address.split("@")
    domain = ascii_domain(domain.rstrip("."))
    if not local or len(local) > 64 or local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    if not valid_domain(domain):
        return None
    return f"{local}@{domain}"


def ascii_domain(domain: str) -> str:
    """The domain in IDNA (``xn--``) form, as the matcher reports it; "" when it cannot be."""
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return ""


def valid_domain(domain: str) -> bool:
    """A dotted, lowercase ASCII domain name of at least two labels."""
    labels = domain.split(".")
    return len(labels) >= 2 and all(_DOMAIN_LABEL.fullmatch(label) for label in labels)


def allow_matches(address: str, allow: tuple[str, ...]) -> bool:
    """True when ``address`` (normalised) is on the allow-list: exact, or ``*@domain``."""
    domain = address.rpartition("@")[2]
    return address in allow or f"*@{domain}" in allow
