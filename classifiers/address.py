"""Email addresses as bounces print them, reduced to one comparable form."""
from __future__ import annotations

import re

# local@domain inside a line of prose; the local part may be quoted. The local part starts
# where a run of its characters starts (the lookbehind): a long run without "@" is then
# tried once, not once per character. ASCII domains only: Japanese prose runs straight on
# from an address ("a@example.jp宛のメール"), and a non-ASCII class would also cost ~10 ms
# to compile at every start-up.
_LOCAL = r"A-Za-z0-9!#$%&'*+/=?^_`{|}~.-"
_ADDRESS = re.compile(rf'(?<![{_LOCAL}])(?:"[^"\n]{{1,64}}"|[{_LOCAL}]{{1,64}})@'
                      r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253})")
#: RFC 3464 address types that prefix a DSN's recipient fields ("rfc822; user@example.com").
_ADDRESS_TYPES = ("rfc822", "utf-8", "x400", "unknown")
_STRIP = " \t\r\n<>()[]{}',;:"
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_VALID_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def find_addresses(text: str) -> list[str]:
    """Every address-like token in ``text``, normalised, in order, without repeats."""
    seen: dict[str, None] = {}
    tried: set[str] = set()
    for match in _ADDRESS.finditer(text):
        token = match.group(0)
        if token in tried:  # the same token again: normalised once
            continue
        tried.add(token)
        address = normalise(token)
        if address:
            seen.setdefault(address, None)
    return list(seen)


def normalise(value: str) -> str:
    """``<Foo@Example.COM.>`` -> ``Foo@example.com``; "" when it is not an address.

    Strips angle brackets, an ``rfc822;`` type prefix, a trailing dot and surrounding
    punctuation; lowercases and IDNA-encodes the domain; keeps the local part's case.
    """
    value = value.strip()
    if "@" not in value:
        return ""
    if ";" in value and value.split(";", 1)[0].strip().lower() in _ADDRESS_TYPES:
        value = value.split(";", 1)[1]
    if "<" in value:  # "Display Name" <user@example.com>: the part in brackets
        value = value[value.rindex("<") + 1:].split(">", 1)[0]
    value = value.strip(_STRIP)
    if value.count('"') == 2 and value.startswith('"') and value.endswith('"'):
        value = value[1:-1]  # "user@example.com" quoted whole
    elif value.count('"') == 1:
        value = value.replace('"', "")
    if value.lower().startswith("mailto:"):
        value = value[7:]
    if value.startswith("@") and ":" in value:  # a source route: @relay.example:user@host
        value = value.rpartition(":")[2]
    local, sep, domain = value.rpartition("@")
    if not sep or not local or not domain:
        return ""
    domain = domain.strip(_STRIP).rstrip(".").lower()
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return ""
    if len(domain) > 253 or not _VALID_DOMAIN.fullmatch(domain) or not _valid_local(local):
        return ""
    return f"{local}@{domain}"


#: Characters an unquoted local part cannot hold (RFC 5322 specials): "a,b@x", "a@b@x" are
#: fragments of a list or a broken field, never a mailbox to suppress.
_SPECIALS = frozenset('()<>[]:;@\\,"')


def _valid_local(local: str) -> bool:
    """A whole quoted string ("john doe"), or printable text without blanks or specials
    (dots anywhere: Japanese carriers issued "taro.@example.jp")."""
    if len(local) >= 2 and local[0] == '"' and local[-1] == '"':
        inner = local[1:-1].replace("\\\\", "").replace('\\"', "")
        return inner.isprintable() and '"' not in inner
    # isprintable() rules out every whitespace character but the space (and control ones)
    return local.isprintable() and " " not in local and _SPECIALS.isdisjoint(local)


_VERP_NUMBER = re.compile(r"-\d{1,20}-")


def verp_recipient(value: str) -> str:
    """The recipient a VERP return path encodes, or "".

    ``list-bounces+alice=example.org@lists.example.net`` -> ``alice@example.org`` (Mailman,
    Postfix ``+``), ``list-return-12-alice=example.org@example.net`` (ezmlm), and
    ``bounce-alice=example.org@example.net``.
    """
    address = normalise(value)
    local = address.rpartition("@")[0]
    if "=" not in local:
        return ""
    mailbox, _, domain = local.rpartition("=")
    if "+" in mailbox:
        mailbox = mailbox.split("+", 1)[1]
    else:
        numbered = _VERP_NUMBER.search(mailbox)
        if numbered:
            mailbox = mailbox[numbered.end():]
        elif "-" in mailbox:
            mailbox = mailbox.split("-", 1)[1]
        else:
            return ""
    if "." not in domain:
        return ""
    return normalise(f"{mailbox}@{domain}")
