"""Real IMAP servers for the tests: pymap (pure Python, no root) and Dovecot (root, Debian).

Each server starts on a free loopback port in its own temp dir, is ready when its greeting
arrives (polled with a deadline, never a fixed sleep) and is stopped by the pid we started.
"""
from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from imapclient import IMAPClient

from daemon.demo import HOST, free_port, pymap_server, stop_process, wait_for_greeting

USERNAME = "bounces"
PASSWORD = "s3cret-Passw0rd"


@dataclass(frozen=True)
class ImapServer:
    """A running server the tests may talk to."""

    kind: str          # "pymap" or "dovecot"
    host: str
    port: int
    username: str
    password: str
    pid: int
    security: str = "plain"    # "plain" or "starttls"
    ca_file: str = ""          # the self-signed CA when security is not plain
    imaps_port: int = 0        # implicit TLS (IMAPS) listener, when the server has one

    def client(self) -> IMAPClient:
        """A logged-in imapclient connection (for arranging and inspecting mailboxes)."""
        c = IMAPClient(self.host, self.port, ssl=False, timeout=10)
        if self.security == "starttls":
            import ssl
            c.starttls(ssl.create_default_context(cafile=self.ca_file))
        c.login(self.username, self.password)
        return c


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost and its key (needs the ``openssl`` command)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True)
    return cert, key


@contextlib.contextmanager
def run_pymap(tls: bool = False, port: int = 0) -> Iterator[ImapServer]:
    """pymap's in-memory backend with one user; ``tls`` adds STARTTLS with a self-signed cert.
    ``port`` 0 picks a free one."""
    with tempfile.TemporaryDirectory(prefix="bw-pymap-") as tmp:
        cert = self_signed_cert(Path(tmp)) if tls else None
        with pymap_server(USERNAME, PASSWORD, port=port, log_file=Path(tmp) / "pymap.log",
                          tls=cert) as (bound, pid):
            yield ImapServer("pymap", HOST, bound, USERNAME, PASSWORD, pid,
                             "starttls" if tls else "plain", str(cert[0]) if cert else "")


def dovecot_skip_reason() -> str:
    """Why Dovecot tests cannot run here, or "" when they can."""
    if shutil.which("dovecot") is None:
        return "dovecot is not installed (apt-get install dovecot-imapd)"
    if os.geteuid() != 0:
        return "a throwaway Dovecot needs root"
    return ""


DOVECOT_CONF = """\
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
listen = 127.0.0.1
protocols = imap
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = {uid}
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{d}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={d}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
service anvil {{
  chroot =
}}
"""


@contextlib.contextmanager
def run_dovecot(tls: bool = False) -> Iterator[ImapServer]:
    """A throwaway Dovecot (see /work/shared/dovecot/README.md): root only, foreground child."""
    reason = dovecot_skip_reason()
    if reason:
        raise RuntimeError(reason)
    port = free_port()
    d = Path(tempfile.mkdtemp(prefix="bw-dovecot-"))
    try:
        d.chmod(0o755)
        (d / "mail").mkdir()
        shutil.chown(d / "mail", "dovecot", "dovecot")
        (d / "users").write_text(f"{USERNAME}:{{PLAIN}}{PASSWORD}::::::\n")
        ssl, ca_file, imaps_port = "ssl = no", "", 0
        if tls:
            imaps_port = free_port()
            cert, key = self_signed_cert(d)
            ssl, ca_file = f"ssl = required\nssl_cert = <{cert}\nssl_key = <{key}", str(cert)
        conf = d / "dovecot.conf"
        conf.write_text(DOVECOT_CONF.format(d=d, port=port, ssl=ssl, imaps_port=imaps_port,
                                            uid=pwd.getpwnam("dovecot").pw_uid))
        proc = subprocess.Popen(["dovecot", "-F", "-c", str(conf)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_greeting(port, proc)
            yield ImapServer("dovecot", HOST, port, USERNAME, PASSWORD, proc.pid,
                             "starttls" if tls else "plain", ca_file, imaps_port)
        finally:
            stop_process(proc)
    finally:
        shutil.rmtree(d, ignore_errors=True)


SERVERS = {"pymap": run_pymap, "dovecot": run_dovecot}


def empty_account(server: ImapServer) -> None:
    """Delete every folder but INBOX and every message in INBOX: a clean slate per test."""
    with server.client() as c:
        c.select_folder("INBOX")
        uids = c.search(["ALL"])
        if uids:
            c.delete_messages(uids)
            c.expunge()
        c.close_folder()
        names = [name for _flags, _sep, name in c.list_folders() if name.upper() != "INBOX"]
        for name in sorted(names, key=len, reverse=True):
            try:
                c.delete_folder(name)
            except IMAPClient.Error:
                if c.folder_exists(name):   # pymap removes an emptied \\Noselect parent itself
                    raise


def append(server: ImapServer, folder: str, messages: list[bytes]) -> None:
    """APPEND ``messages`` to ``folder`` (created when missing), in order."""
    with server.client() as c:
        if folder.upper() != "INBOX" and not c.folder_exists(folder):
            c.create_folder(folder)
        for raw in messages:
            c.append(folder, raw)


def folder_contents(server: ImapServer) -> dict[str, list[bytes]]:
    """Every folder and the raw messages in it (sorted by UID)."""
    out: dict[str, list[bytes]] = {}
    with server.client() as c:
        for flags, _sep, name in c.list_folders():
            if b"\\Noselect" in flags or b"\\NoSelect" in flags:
                continue
            c.select_folder(name, readonly=True)
            uids = sorted(c.search(["ALL"]))
            data = c.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            out[name] = [data[u][b"BODY[]"] for u in uids if u in data]
    return out
