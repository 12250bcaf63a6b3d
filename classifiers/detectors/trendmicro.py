"""Trend Micro InterScan Messaging Security Suite (MSS / IMSS): "Mail could not be delivered".

From "InterScan MSS", MIME boundary ``InterScan_NT_MIME_Boundary``. Either a transcript of
the failed exchange::

    Sent <<< RCPT TO:<user@example.co.jp>
    Received >>> 550 5.1.1 <user@example.co.jp>... user unknown

or one sentence: "Reason:  Unable to deliver message to <user@example.jp> (and other
recipients in the same domain).", which InterScan writes when the recipient's server
refused the address; sisimai reads it as userunknown, and so do we.
"""
from __future__ import annotations

from ..address import find_addresses
from ..lazyre import LazyPattern
from ..message import Message
from ..model import Kind, Reason
from .base import Detection
from .smtptext import Findings, claim, command_name, finding

NAME = "trendmicro"

_SENT = LazyPattern(r"^Sent <<< ?(.*)$")
_RECEIVED = LazyPattern(r"^Received >>> ?(.*)$")
_UNABLE = LazyPattern(r"Unable to deliver message to <([^<>\s]{1,256}@[^<>\s]{1,256})>")


def detect(msg: Message) -> Detection | None:
    if not ("InterScan" in msg.sender or "InterScan" in msg.headers.get("content-type")
            or "InterScan Messaging Security" in msg.text):
        return None
    found = Findings()
    sent = ""
    for raw in msg.text.split("\n"):
        line = raw.strip()
        said = _SENT.match(line)
        if said:
            sent = said.group(1)
            continue
        got = _RECEIVED.match(line)
        if got and got.group(1)[:1] in "45":
            recipient = (find_addresses(sent)[:1] or find_addresses(got.group(1))[:1] or [""])[0]
            if found.wants(recipient):
                found.add(finding(recipient, got.group(1), command=command_name(sent)))
            continue
        unable = _UNABLE.search(line)
        if unable and found.wants(unable.group(1)):
            found.add(finding(unable.group(1), line.removeprefix("Reason:").strip(),
                              reason=Reason.USERUNKNOWN))
    return claim(Kind.BOUNCE, found.all())
