"""The matcher's vocabulary: what a message is, why a delivery failed, one outcome per recipient.

These types are the contract between the matcher and everything that uses it (the daemon,
the CLI, other tools): frozen, typed dataclasses of plain values, so a ``Report`` can be
logged, compared, pickled, copied with ``dataclasses.replace`` and turned into JSON with
``Report.as_dict()``. (The matcher's internal types are ``classifiers.frozen.Frozen``
values, which spare its start the cost of generating dataclass methods for each.)
"""
from __future__ import annotations

from enum import StrEnum

from dataclasses import dataclass


class Kind(StrEnum):
    """What kind of message the matcher was given."""

    BOUNCE = "bounce"              # a non-delivery report: at least one recipient failed
    DELAY = "delay"                # a delay notice (RFC 3464 action=delayed): not a failure yet
    DELIVERED = "delivered"        # a success DSN or a read receipt (RFC 8098)
    COMPLAINT = "complaint"        # an ARF feedback report (RFC 5965): the recipient complained
    AUTOREPLY = "autoreply"        # an auto-reply / vacation notice (RFC 3834)
    NOT_BOUNCE = "not-bounce"      # ordinary mail that landed in the bounce box
    UNPARSEABLE = "unparseable"    # looks like a bounce but no recipient could be decoded


class Reason(StrEnum):
    """Why a delivery failed, in the sisimai/bounceHammer vocabulary (one line each)."""

    USERUNKNOWN = "userunknown"          # the mailbox does not exist at the recipient's domain
    HOSTUNKNOWN = "hostunknown"          # the recipient's domain does not exist / has no MX
    HASMOVED = "hasmoved"                # the recipient has moved and left no forwarding (5.1.6)
    NOTACCEPT = "notaccept"              # the domain accepts no mail at all (null MX, 5xx)
    MAILBOXFULL = "mailboxfull"          # the recipient's mailbox is over quota
    MESGTOOBIG = "mesgtoobig"            # the message is larger than the recipient accepts
    EXCEEDLIMIT = "exceedlimit"          # the message exceeds a per-recipient size limit
    EXPIRED = "expired"                  # delivery timed out in the sender's queue
    NETWORKERROR = "networkerror"        # DNS or network trouble reaching the recipient's host
    TOOMANYCONN = "toomanyconn"          # too many connections/recipients at once
    SPEEDING = "speeding"                # rate limited: the sender sends too fast
    SYSTEMERROR = "systemerror"          # a fault in the receiving system (loop, I/O, config)
    SYSTEMFULL = "systemfull"            # the receiving system's disk or queue is full
    SUSPEND = "suspend"                  # the mailbox exists but is suspended or disabled
    BLOCKED = "blocked"                  # the sender's IP or host is blocked (RBL, no rDNS ...)
    FILTERED = "filtered"                # rejected by the recipient's own filter or settings
    REJECTED = "rejected"                # the envelope sender (MAIL FROM) was refused
    SPAMDETECTED = "spamdetected"        # the message was judged to be spam
    POLICYVIOLATION = "policyviolation"  # the message breaks the receiver's policy
    AUTHFAILURE = "authfailure"          # SPF, DKIM or DMARC authentication failed
    BADREPUTATION = "badreputation"      # the sender's IP or domain has a poor reputation
    NORELAYING = "norelaying"            # the host refused to relay for the sender
    SECURITYERROR = "securityerror"      # authentication/security requirement not met by sender
    CONTENTERROR = "contenterror"        # the content or a header was refused as malformed
    VIRUSDETECTED = "virusdetected"      # a virus was found in the message
    REQUIREPTR = "requireptr"            # the sending IP has no PTR (reverse DNS) record
    NOTCOMPLIANTRFC = "notcompliantrfc"  # the message does not comply with RFC 5322 et al.
    SYNTAXERROR = "syntaxerror"          # an SMTP syntax error in a command the sender sent
    FAILEDSTARTTLS = "failedstarttls"    # STARTTLS was required or failed
    MAILERERROR = "mailererror"          # a local mailer program (procmail, pipe) failed
    ONHOLD = "onhold"                    # the server said something no rule recognises; review it
    UNDEFINED = "undefined"              # a failure the NDR gives no words or codes for
    FEEDBACK = "feedback"                # an ARF complaint from the recipient
    VACATION = "vacation"                # an auto-reply: the recipient is away, not gone
    DELIVERED = "delivered"              # delivered successfully (success DSN)


#: Reasons whose 5xx outcome means the address is permanently dead (see ``verdict``).
DEAD_REASONS: frozenset[Reason] = frozenset(
    {Reason.USERUNKNOWN, Reason.HOSTUNKNOWN, Reason.HASMOVED, Reason.NOTACCEPT}
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one recipient of the original message."""

    recipient: str                 # normalised address: local part as given, domain lowercased
    reason: Reason
    hard: bool                     # True only when the address is permanently dead
    action: str = ""               # RFC 3464 Action: failed, delayed, delivered, relayed, expanded
    status: str = ""               # RFC 3463 enhanced status, e.g. "5.1.1"
    reply_code: str = ""           # SMTP reply code, e.g. "550"
    diagnostic: str = ""           # the remote server's words, one line, whitespace folded
    remote_mta: str = ""           # the host that said it
    command: str = ""              # the SMTP command it answered: MAIL, RCPT, DATA, ...

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {name: getattr(self, name) for name in self.__match_args__}
        out["reason"] = str(self.reason)
        return out


@dataclass(frozen=True, slots=True)
class Report:
    """The matcher's reading of one message."""

    kind: Kind
    decoded_by: str                              # detector name, e.g. "rfc3464", "postfix"
    outcomes: tuple[Outcome, ...] = ()
    message_id: str = ""                         # Message-ID of the original (bounced) message
    original_sender: str = ""                    # From/Return-Path of the original message
    original_subject: str = ""
    list_id: str = ""                            # List-Id of the original message
    verp_recipient: str = ""                     # recipient decoded from a VERP return path
    subject: str = ""                            # Subject of the NDR itself
    errors: tuple[str, ...] = ()                 # what went wrong while reading, if anything

    @property
    def hard_recipients(self) -> tuple[str, ...]:
        return tuple(o.recipient for o in self.outcomes if o.hard)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            k: getattr(self, k)
            for k in ("kind", "decoded_by", "message_id", "original_sender",
                      "original_subject", "list_id", "verp_recipient", "subject")
        }
        out["kind"] = str(self.kind)
        out["errors"] = list(self.errors)
        out["outcomes"] = [o.as_dict() for o in self.outcomes]
        return out
