"""One IMAP connection to one account, over imapclient, with typed results and our own errors.

Everything imapclient returns (bytes-keyed dicts) is turned into typed values here; nothing
else in the daemon sees imapclient or imaplib. Errors become one small hierarchy:

- ``ImapUnavailable``: the connection is gone, refused or timed out -> retry later;
- ``ImapAuthError``: the server refused the login;
- ``ImapError``: a command failed (the base class of both).

Messages never contain the password.
"""
from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl
import sys
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Callable, Iterable, Iterator, Sequence, TextIO

import structlog
from imapclient import IMAPClient
from imapclient import exceptions as imap_exc

from .config import AccountConfig, ConfigError, resolve_password

log = structlog.get_logger(__name__)

IDLE_RENEW_SECONDS = 25 * 60   # RFC 2177: re-issue IDLE before the server's 30 minute timeout
IDLE_CHECK_SECONDS = 1.0       # how often a waiting IDLE looks at the stop flag


class ImapError(Exception):
    """An IMAP command failed."""


class ImapUnavailable(ImapError):
    """The server cannot be reached, or the connection broke: try again later."""


class ImapAuthError(ImapError):
    """The server refused the login."""


@dataclass(frozen=True, slots=True)
class FolderState:
    """What SELECT told us about a folder."""

    name: str
    uidvalidity: int
    exists: int
    uidnext: int | None = None


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    """One message as fetched (``BODY.PEEK[]``: the \\Seen flag is not set)."""

    uid: int
    size: int
    raw: bytes


def chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    """``items`` in consecutive lists of at most ``size``."""
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def uids_above(found: Sequence[int], last_uid: int) -> list[int]:
    """The UIDs strictly above the cursor, ascending. ``UID n:*`` always matches the last
    message even when its UID is <= n, so the server's answer must be filtered."""
    return sorted(u for u in set(found) if u > last_uid)


def tls_context(account: AccountConfig) -> ssl.SSLContext:
    """Verification on by default; ``ca_file`` replaces the system trust store."""
    try:
        context = ssl.create_default_context(cafile=account.ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"accounts '{account.name}': ca_file {account.ca_file}: cannot load "
                          f"it: {getattr(exc, 'strerror', None) or exc}") from None
    if not account.verify_certificate:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def security_warnings(account: AccountConfig) -> list[str]:
    """What is unsafe about an account's connection settings (logged once at start)."""
    warnings = []
    if account.security == "plain":
        warnings.append("plain IMAP: the password and the mail cross the network unencrypted")
    elif not account.verify_certificate:
        warnings.append("TLS certificate verification is off: the connection can be intercepted")
    return warnings


def announce_security_warnings(accounts: Iterable[AccountConfig],
                               stream: TextIO | None = None) -> int:
    """Log ``security_warnings`` of every account (at start, once each). A logging level
    above "warning" does not hide them: they then go to stderr as plain lines, so that
    certificate verification is never switched off silently. Returns how many there were."""
    lines = []
    for account in accounts:
        for warning in security_warnings(account):
            log.warning(warning, account=account.name, host=account.host)
            lines.append(f"bouncewatch: warning: account {account.name} ({account.host}): "
                         f"{warning}")
    if lines and not logging.getLogger(__name__).isEnabledFor(logging.WARNING):
        print("\n".join(lines), file=stream or sys.stderr, flush=True)
    return len(lines)


def where(account: AccountConfig) -> str:
    """``user@host:port``: how errors name a connection."""
    return f"{account.username}@{account.host}:{account.port}"


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[2:-1] if text.startswith(("b'", 'b"')) else text


class Inbox:
    """A logged-in connection to one account. Use ``Inbox.open(account)`` as a context manager."""

    def __init__(self, client: IMAPClient, account: AccountConfig, capabilities: frozenset[str]):
        self._client = client
        self.account = account
        #: Upper-case capability names after login (tests may remove one to force a fallback).
        self.capabilities = capabilities
        self._where = where(account)
        self._delimiter: str | None = None
        self._known_folders: set[str] = set()
        self.selected: FolderState | None = None

    # -- connection ------------------------------------------------------------------------

    @classmethod
    def open(cls, account: AccountConfig, password: str | None = None,
             factory: Callable[..., IMAPClient] = IMAPClient) -> Inbox:
        """Connect (IMAPS, STARTTLS or plain, as configured), log in, read capabilities.

        ``password`` defaults to ``resolve_password(account)`` (raises ``ConfigError``).
        ``factory`` is the seam that builds the imapclient object.
        """
        secret = resolve_password(account) if password is None else password
        name = where(account)
        client = None
        try:
            with _translated(f"connect to {name}", secret):
                client = factory(account.host, account.port, ssl=account.security == "tls",
                                 ssl_context=tls_context(account) if account.security == "tls"
                                 else None, timeout=account.timeout)
                if account.security == "starttls":
                    client.starttls(tls_context(account))
            with _translated(f"login to {name}", secret):
                client.login(account.username, secret)
                caps = frozenset(c.decode("ascii", "replace").upper()
                                 for c in client.capabilities())
        except BaseException:
            if client is not None:
                with contextlib.suppress(Exception):
                    client.shutdown()
            raise
        return cls(client, account, caps)

    def close(self) -> None:
        """Log out (best effort: the connection may already be gone)."""
        try:
            self._client.logout()
        except Exception:
            with contextlib.suppress(Exception):
                self._client.shutdown()

    def __enter__(self) -> Inbox:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _do(self, what: str) -> contextlib.AbstractContextManager[None]:
        return _translated(f"{what} on {self._where}", "")

    # -- folders ---------------------------------------------------------------------------

    def server_name(self, folder: str) -> str:
        """A configured folder name ("a/b") with the server's hierarchy delimiter."""
        if self._delimiter is None:
            with self._do("NAMESPACE"):
                self._delimiter = self._find_delimiter()
        return folder.replace("/", self._delimiter) if self._delimiter else folder

    def _find_delimiter(self) -> str:
        if "NAMESPACE" in self.capabilities:
            personal = self._client.namespace().personal
            if personal and personal[0][1]:
                return str(personal[0][1])
        for _flags, delimiter, _name in self._client.list_folders("", "INBOX"):
            if delimiter:
                return delimiter.decode() if isinstance(delimiter, bytes) else str(delimiter)
        return "/"

    def select(self, folder: str) -> FolderState:
        """SELECT ``folder`` read-write; its UIDVALIDITY is the cursor's other half."""
        name = self.server_name(folder)
        with self._do(f"SELECT {name}"):
            info = self._client.select_folder(name)
        self._exists_seen()          # SELECT's own EXISTS is the baseline, not news
        state = FolderState(name=folder, uidvalidity=int(info[b"UIDVALIDITY"]),
                            exists=int(info.get(b"EXISTS", 0)),
                            uidnext=int(info[b"UIDNEXT"]) if b"UIDNEXT" in info else None)
        self.selected = state
        self._known_folders.add(name)
        return state

    def ensure_folder(self, folder: str) -> str:
        """Create ``folder`` (and, on most servers, its parents) unless it exists."""
        name = self.server_name(folder)
        if name in self._known_folders:
            return name
        with self._do(f"CREATE {name}"):
            if not self._client.folder_exists(name):
                self._client.create_folder(name)
                with contextlib.suppress(imap_exc.IMAPClientError):
                    self._client.subscribe_folder(name)
                log.info("folder created", account=self.account.name, folder=folder)
        self._known_folders.add(name)
        return name

    # -- messages --------------------------------------------------------------------------

    def uids_after(self, last_uid: int) -> list[int]:
        """UIDs in the selected folder above ``last_uid``, ascending."""
        with self._do("UID SEARCH"):
            found = self._client.search(["UID", f"{last_uid + 1}:*"])
        return uids_above(found, last_uid)

    def sizes(self, uids: Sequence[int]) -> dict[int, int]:
        """RFC822.SIZE of each UID that still exists."""
        if not uids:
            return {}
        with self._do("FETCH RFC822.SIZE"):
            data = self._client.fetch(list(uids), [b"RFC822.SIZE"])
        return {int(uid): int(item[b"RFC822.SIZE"]) for uid, item in data.items()
                if b"RFC822.SIZE" in item}

    def fetch(self, uids: Sequence[int], max_bytes: int | None = None) -> list[FetchedMessage]:
        """The messages (``BODY.PEEK[]``), ascending by UID; messages expunged meanwhile are
        absent. With ``max_bytes``, only the first ``max_bytes`` octets of each body come back."""
        if not uids:
            return []
        part = f"BODY.PEEK[]<0.{max_bytes}>" if max_bytes else "BODY.PEEK[]"
        with self._do("FETCH BODY.PEEK[]"):
            data = self._client.fetch(list(uids), [part.encode(), b"RFC822.SIZE"])
        out = []
        for uid, item in data.items():
            raw = next((v for k, v in item.items() if k.startswith(b"BODY[")), None)
            if raw is None:
                continue
            size = int(item.get(b"RFC822.SIZE", len(raw)))
            out.append(FetchedMessage(uid=int(uid), size=size, raw=bytes(raw)))
        return sorted(out, key=lambda m: m.uid)

    def move(self, uids: Sequence[int], folder: str) -> None:
        """Move ``uids`` from the selected folder: MOVE, else COPY + \\Deleted + UID EXPUNGE
        (UIDPLUS), else COPY + \\Deleted + EXPUNGE."""
        if not uids:
            return
        target = self.ensure_folder(folder)
        uids = list(uids)
        if "MOVE" in self.capabilities:
            with self._do(f"UID MOVE to {target}"):
                self._client.move(uids, target)
            return
        with self._do(f"UID COPY to {target}"):
            self._client.copy(uids, target)
            self._client.add_flags(uids, [b"\\Deleted"], silent=True)
            if "UIDPLUS" in self.capabilities:
                self._client.uid_expunge(uids)
            else:
                self._client.expunge()

    def append(self, folder: str, raw: bytes) -> None:
        """APPEND one message to ``folder`` (created when missing); used by the demo."""
        target = self.ensure_folder(folder) if folder.upper() != "INBOX" else folder
        with self._do(f"APPEND to {target}"):
            self._client.append(target, raw)

    # -- IDLE ------------------------------------------------------------------------------

    @property
    def can_idle(self) -> bool:
        return "IDLE" in self.capabilities

    def idle_wait(self, timeout: float, should_stop: Callable[[], bool] = lambda: False) -> bool:
        """IDLE on the selected folder until the server announces new mail (True), ``timeout``
        seconds pass or ``should_stop()`` turns true (False).

        We only wait for the socket to become readable, then leave IDLE (DONE) and let
        imapclient read the responses with ordinary blocking reads: its own ``idle_check``
        reads a non-blocking socket and breaks on a response split across TCP segments.
        Mail announced just as IDLE starts may wait for the next call (at most ``timeout``).
        """
        deadline = time.monotonic() + min(timeout, IDLE_RENEW_SECONDS)
        with self._do("IDLE"):
            if self._exists_seen():
                return True              # announced since we last looked: no need to wait
            while not should_stop() and time.monotonic() < deadline:
                self._start_idle()
                try:
                    self._wait_readable(deadline, should_stop)
                finally:
                    _text, responses = self._client.idle_done()
                if self._exists_seen() or any(
                        len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                    return True
        return False

    def _start_idle(self) -> None:
        try:
            self._client.idle()
        except imap_exc.IMAPClientError as exc:
            # imapclient refuses an untagged line (e.g. "* 5 EXISTS") that comes before the
            # "+ idling" continuation; imaplib has kept it, and the server is idling anyway.
            if "Unexpected IDLE response" not in str(exc):
                raise

    def _wait_readable(self, deadline: float, should_stop: Callable[[], bool]) -> None:
        """Until the server sends something, the deadline passes or we are asked to stop."""
        poller = select.poll()
        poller.register(self._client.socket().fileno(), select.POLLIN)
        while not should_stop():
            left = deadline - time.monotonic()
            if left <= 0 or poller.poll(int(min(IDLE_CHECK_SECONDS, left) * 1000)):
                return

    def _exists_seen(self) -> bool:
        """Did the server announce new mail (EXISTS) since we last looked? imaplib collects
        the untagged responses of every command in ``untagged_responses``; this takes them."""
        collected = getattr(self._client._imap, "untagged_responses", {})
        return bool(collected.pop("EXISTS", None))

    def noop(self) -> None:
        with self._do("NOOP"):
            self._client.noop()


@contextlib.contextmanager
def _translated(what: str, secret: str) -> Iterator[None]:
    """imapclient/imaplib/socket/ssl errors -> our hierarchy, with the secret scrubbed."""
    try:
        yield
    except imap_exc.LoginError as exc:
        raise ImapAuthError(f"{what}: login refused: {_scrub(_describe(exc), secret)}") from None
    except ssl.SSLCertVerificationError as exc:
        raise ImapUnavailable(
            f"{what}: TLS certificate not trusted ({exc.verify_message}); set ca_file to the "
            "server's CA, or verify_certificate = false if you must") from None
    except (imap_exc.IMAPClientAbortError, socket.timeout, OSError, ssl.SSLError) as exc:
        raise ImapUnavailable(f"{what}: {_scrub(_describe(exc), secret)}") from exc
    except imap_exc.IMAPClientError as exc:
        raise ImapError(f"{what}: {_scrub(_describe(exc), secret)}") from exc
