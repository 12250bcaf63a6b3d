"""The reason tables: well-formed data, and one row per (diagnostic, status, reply, command,
host) -> reason case. Adding a phrase to ``classifiers/reasons.py`` is one table line and one
row in ``CASES``."""
from __future__ import annotations

import pytest

from classifiers.model import Reason
from classifiers.providers import PROVIDER_ROWS, provider_reason, rows_for
from classifiers.reasons import (COMMAND_REASON, GENERIC_STATUS, NDR_SENTENCES,
                                 OVERRIDE_USERUNKNOWN, PHRASES, REPLY_CODE, SPECIFIC_STATUS,
                                 normalise_text, phrase_reason, reason_for)

R = Reason

# ---------------------------------------------------------------------------------------------
# The tables themselves


@pytest.mark.parametrize("table", [PHRASES, NDR_SENTENCES], ids=["PHRASES", "NDR_SENTENCES"])
def test_phrases_are_lowercase_stripped_and_unique(table):
    seen: dict[str, Reason] = {}
    for reason, phrases in table:
        assert isinstance(reason, Reason)
        assert phrases, f"{reason} has no phrase"
        for phrase in phrases:
            assert phrase == phrase.lower(), phrase
            assert phrase.strip(), f"empty phrase under {reason}"
            assert phrase == normalise_text(phrase) or phrase.strip() != phrase, phrase
            assert "**" not in phrase.replace("**spam**", "") and not phrase.startswith("*"), phrase
            assert phrase not in seen, f"{phrase!r} under both {seen.get(phrase)} and {reason}"
            seen[phrase] = reason


def test_each_reason_has_one_phrase_row():
    reasons = [reason for reason, _ in PHRASES]
    assert len(reasons) == len(set(reasons))
    assert not {R.FEEDBACK, R.VACATION, R.DELIVERED, R.ONHOLD, R.UNDEFINED} & set(reasons)


def test_override_reasons_are_never_the_ones_they_override():
    assert R.USERUNKNOWN not in OVERRIDE_USERUNKNOWN and R.HOSTUNKNOWN not in OVERRIDE_USERUNKNOWN
    assert OVERRIDE_USERUNKNOWN <= {reason for reason, _ in PHRASES}


def test_status_tables_are_well_formed_and_disjoint():
    assert not SPECIFIC_STATUS.keys() & GENERIC_STATUS.keys()
    for code, reason in {**SPECIFIC_STATUS, **GENERIC_STATUS}.items():
        klass, subject, detail = code.split(".")
        assert klass in ("4", "5") and subject.isdigit() and detail.isdigit(), code
        assert isinstance(reason, Reason)


def test_reply_and_command_tables_are_well_formed():
    for code, reason in REPLY_CODE.items():
        assert len(code) == 3 and code.isdigit() and code[0] in "45", code
        assert isinstance(reason, Reason)
    for command, reason in COMMAND_REASON.items():
        assert command == command.upper() and isinstance(reason, Reason)


@pytest.mark.parametrize("status,reason", sorted({**SPECIFIC_STATUS, **GENERIC_STATUS}.items()))
def test_every_status_row_decides_alone(status, reason):
    assert reason_for("", status) is reason


@pytest.mark.parametrize("code,reason", sorted(REPLY_CODE.items()))
def test_every_reply_code_row_decides_alone(code, reason):
    assert reason_for("", "", code) is reason


@pytest.mark.parametrize("command,reason", sorted(COMMAND_REASON.items()))
def test_every_command_row_decides_a_5xx_alone(command, reason):
    assert reason_for("", "", "550", command) is reason
    assert reason_for("", "5.0.0", "", command.lower()) is reason


def test_provider_rows_are_well_formed():
    for suffixes, code, phrase, reason in PROVIDER_ROWS:
        assert suffixes and all(s == s.lower() and not s.startswith(".") for s in suffixes)
        assert code or phrase, "a provider row needs a code or a phrase"
        assert phrase == phrase.lower(), phrase
        assert isinstance(reason, Reason)
    keys = [(s, code, phrase) for suffixes, code, phrase, _ in PROVIDER_ROWS for s in suffixes]
    assert len(keys) == len(set(keys)), "a provider row is listed twice"


@pytest.mark.parametrize("suffixes,code,phrase,reason", PROVIDER_ROWS,
                         ids=[f"{row[0][0]}:{row[1]}:{row[2]}" for row in PROVIDER_ROWS])
def test_every_provider_row_decides_its_own_sample(suffixes, code, phrase, reason):
    """Each row matches a reply made of its own code and phrase; an earlier row of the same
    provider may catch it first only if it names the same reason (else this row is dead)."""
    status = code if "." in code else ""
    reply = code if code.isdigit() else ""
    for suffix in suffixes:
        assert provider_reason("mx." + suffix, phrase, status, reply) is reason, suffix


def test_provider_rows_match_by_host_suffix_only():
    assert rows_for("gmail-smtp-in.l.google.com")
    assert rows_for("GMAIL.COM.")
    assert not rows_for("notgoogle.com")
    assert not rows_for("")
    text = "550 5.7.1 this message is likely unsolicited mail"
    assert provider_reason("mx.example.org", text) is None


# ---------------------------------------------------------------------------------------------
# Cases: (diagnostic, status, reply_code, command, host) -> reason

CASES: list[tuple[str, str, str, str, str, Reason]] = [
    # status codes beat phrases when specific
    ("550 5.1.1 <a@example.jp>: Recipient address rejected: User unknown", "5.1.1", "550", "RCPT", "", R.USERUNKNOWN),
    ("552 5.2.2 sorry, no mailbox here by that name", "5.2.2", "552", "", "", R.MAILBOXFULL),
    ("Host example.invalid not found", "5.1.2", "", "", "", R.HOSTUNKNOWN),
    ("551 5.1.6 user has moved", "5.1.6", "551", "", "", R.HASMOVED),
    ("553 5.1.8 Domain of sender address does not exist", "5.1.8", "553", "MAIL", "", R.REJECTED),
    ("556 5.1.10 recipient address has null MX", "5.1.10", "556", "", "", R.NOTACCEPT),
    ("552 5.2.3 message length exceeds limit", "5.2.3", "552", "", "", R.EXCEEDLIMIT),
    ("552 5.3.4 message too big for system", "5.3.4", "552", "", "", R.MESGTOOBIG),
    ("554 5.4.4 unable to route", "5.4.4", "554", "", "", R.HOSTUNKNOWN),
    ("554 5.4.6 routing loop", "5.4.6", "554", "", "", R.NETWORKERROR),
    ("4.4.7 delivery time expired", "4.4.7", "", "", "", R.EXPIRED),
    ("550 5.7.13 account disabled", "5.7.13", "550", "", "", R.SUSPEND),
    ("550 5.7.25 The IP address sending this message does not have a PTR record", "5.7.25", "550", "", "", R.REQUIREPTR),
    ("550 5.7.26 Unauthenticated email is not accepted", "5.7.26", "550", "", "", R.AUTHFAILURE),
    ("550 5.7.509 Access denied, sending domain does not pass DMARC", "5.7.509", "550", "", "", R.AUTHFAILURE),
    ("421 4.7.650 temporarily rate limited", "4.7.650", "421", "", "", R.BADREPUTATION),
    ("550 5.3.1 mail system full", "5.3.1", "550", "", "", R.SYSTEMFULL),
    ("5.7.30 REQUIRETLS needed", "5.7.30", "550", "", "", R.FAILEDSTARTTLS),
    ("554 5.6.1 media not supported", "5.6.1", "554", "", "", R.CONTENTERROR),
    ("550 5.4.310 DNS domain example.invalid does not exist", "5.4.310", "550", "", "", R.HOSTUNKNOWN),
    ("550 5.7.133 RESOLVER.RST.AuthRequired; authentication required", "5.7.133", "550", "", "", R.SECURITYERROR),
    ("550 5.7.1 RESOLVER.RST.AuthRequired; authentication required", "5.7.1", "550", "", "", R.SECURITYERROR),
    ("550 5.7.520 Access denied, Your organization does not allow external forwarding", "5.7.520", "550", "", "", R.POLICYVIOLATION),
    ("status is taken bare even when written #5.2.2", "#5.2.2", "", "", "", R.MAILBOXFULL),
    # a "user unknown" status yields to sender-side or transient words
    ("552 sorry, mailbox a@example.org is over quota temporarily (#5.1.1)", "5.1.1", "552", "", "", R.MAILBOXFULL),
    ("550 5.1.1 <a@example.org>: Sender address rejected: undeliverable address", "5.1.1", "550", "RCPT", "", R.REJECTED),
    ("550 5.1.1 <a@example.org>: Relay access denied", "5.1.1", "550", "RCPT", "", R.NORELAYING),
    ("550 5.4.4 <a@example.org>: Sender address rejected: unable to route", "5.4.4", "550", "MAIL", "", R.REJECTED),
    ("550 Requested action not taken: mailbox unavailable (listed at zen.spamhaus.org)", "", "550", "RCPT", "", R.BLOCKED),
    ("550 <a@example.jp>: User unknown; Client host rejected", "", "550", "RCPT", "", R.BLOCKED),
    ("554 Client host rejected: unknown host", "", "554", "RCPT", "", R.BLOCKED),
    # sender-side words outrank "user unknown" words
    ("550 <s@example.net>: Sender address rejected: User unknown in local recipient table", "", "550", "RCPT", "", R.REJECTED),
    # generic status codes defer to phrases ...
    ("550 5.7.1 Relaying denied", "5.7.1", "550", "RCPT", "", R.NORELAYING),
    ("550 5.7.1 Message rejected as spam by Content Filtering", "5.7.1", "550", "", "", R.SPAMDETECTED),
    ("554 5.0.0 Service unavailable; mailbox full", "5.0.0", "554", "", "", R.MAILBOXFULL),
    ("550 5.2.1 The email account that you tried to reach is disabled", "5.2.1", "550", "", "", R.SUSPEND),
    # ... and decide when none matches
    ("550 5.7.1 go figure", "5.7.1", "550", "", "", R.SECURITYERROR),
    ("550 5.2.0 something", "5.2.0", "550", "", "", R.FILTERED),
    ("554 5.5.2 something", "5.5.2", "554", "", "", R.SYNTAXERROR),
    ("554 5.5.0 says nothing alone", "5.5.0", "554", "", "", R.ONHOLD),
    ("451 4.4.1 no answer from host", "4.4.1", "451", "", "", R.EXPIRED),
    ("550 5.7.9 weak", "5.7.9", "550", "", "", R.POLICYVIOLATION),
    # the SMTP command, then the reply code
    ("550 no thank you", "", "550", "MAIL", "", R.REJECTED),
    ("550 5.1.1 <s@example.net>... User unknown", "5.1.1", "550", "MAIL", "", R.REJECTED),
    ("550 Host unknown", "", "550", "mail", "", R.REJECTED),
    ("554 no", "", "554", "CONN", "", R.BLOCKED),
    ("550 5.7.1 <root@example.jp>... Access denied", "5.7.1", "550", "MAIL", "", R.REJECTED),
    ("421 4.4.7 try later", "4.4.7", "421", "CONN", "", R.EXPIRED),   # a 4xx: the status says it
    ("DNS lookup failure: host mx.example.org not found", "", "", "", "", R.HOSTUNKNOWN),
    ("554 no", "", "554", "helo", "", R.BLOCKED),
    ("452 4.5.3 yes", "", "452", "", "", R.TOOMANYCONN),
    ("501 what", "", "501", "", "", R.SYNTAXERROR),
    ("535 nope", "", "535", "", "", R.SECURITYERROR),
    ("552 exceeded", "", "552", "RCPT", "", R.MAILBOXFULL),
    ("553 what", "", "553", "", "", R.ONHOLD),   # 553 also refuses senders: no dead address
    ("551 what", "", "551", "", "", R.ONHOLD),
    ("553 5.1.8 <s@example.net>: Sender domain does not exist", "", "553", "RCPT", "", R.REJECTED),
    ("451 try later", "", "451", "", "", R.SYSTEMERROR),
    # nothing recognised
    ("the server said something odd", "", "", "", "", R.ONHOLD),
    ("", "", "", "", "", R.UNDEFINED),
    ("   ", "", "", "", "", R.UNDEFINED),
    # phrases, one row per reason at least (English)
    ("Mailbox is FULL", "", "", "", "", R.MAILBOXFULL),
    ("mailbox for a@example.com is full", "", "", "", "", R.MAILBOXFULL),
    ("Message size exceeds fixed maximum message size", "", "", "", "", R.MESGTOOBIG),
    ("Mail size limit exceeded. For explanation visit http://postmaster.1and1.com/en/error-messages", "", "", "", "mx.kundenserver.de", R.MESGTOOBIG),
    ("552 Message header size exceeds limit", "", "552", "", "", R.EXCEEDLIMIT),
    ("552 Error: message too large", "", "552", "DATA", "", R.MESGTOOBIG),
    ("550 user suspended", "", "550", "", "", R.SUSPEND),
    ("address a@example.com has been replaced by b@example.com", "", "550", "", "", R.HASMOVED),
    ("554 5.7.1 <a@example.com>: Relay access denied", "5.7.1", "554", "", "", R.NORELAYING),
    ("550 SPF check: fail", "", "550", "", "", R.AUTHFAILURE),
    ("550 Client host rejected: cannot find your hostname", "", "550", "", "", R.REQUIREPTR),
    ("554 virus detected in message", "", "554", "", "", R.VIRUSDETECTED),
    ("550 High probability of spam", "", "550", "", "", R.SPAMDETECTED),
    ("550 <a@example.com>... User   unknown", "", "550", "RCPT", "", R.USERUNKNOWN),
    ("550 user a@example.com doesn't exist", "", "550", "RCPT", "", R.USERUNKNOWN),
    ("550 Message rejected due to user rules", "", "550", "", "", R.FILTERED),
    ("550 This message is not RFC 5322 compliant", "", "550", "", "", R.NOTCOMPLIANTRFC),
    ("550 poor email reputation score", "", "550", "", "", R.BADREPUTATION),
    ("553 sender verify failed", "", "553", "", "", R.REJECTED),
    ("550 Host unknown", "", "550", "", "", R.HOSTUNKNOWN),
    ("please try again slower", "", "421", "", "", R.SPEEDING),
    ("421 Too many connections", "", "421", "", "", R.TOOMANYCONN),
    ("554 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org", "", "554", "", "", R.BLOCKED),
    ("554 Message not accepted for policy reasons", "", "554", "", "", R.POLICYVIOLATION),
    ("530 Authentication required", "", "530", "", "", R.SECURITYERROR),
    ("530 Must issue a STARTTLS command first", "", "530", "", "", R.FAILEDSTARTTLS),
    ("554 This message contains invalid MIME headers", "", "554", "", "", R.CONTENTERROR),
    ("452 insufficient system storage", "", "452", "", "", R.SYSTEMFULL),
    ("556 domain does not accept mail", "", "556", "", "", R.NOTACCEPT),
    ("No MX found for domain", "4.0.0", "", "", "", R.NOTACCEPT),
    ("retry timeout exceeded", "", "", "", "", R.EXPIRED),
    ("Could not deliver for the last 432000 seconds. Giving up.", "", "", "", "", R.EXPIRED),
    ("could not be delivered for 5 days", "", "", "", "", R.EXPIRED),
    ("Connection timed out", "", "", "", "", R.EXPIRED),
    ("connect to mx.example.org[192.0.2.1]:25: No route to host", "4.4.1", "", "", "", R.NETWORKERROR),
    ("550 Hop count over hop = 30", "", "550", "", "", R.NETWORKERROR),
    ('Too many "Received" headers - suspected mail loop', "", "550", "", "", R.CONTENTERROR),
    ("550 permanent failure for one or more recipients (a@example.com:blocked)", "", "550", "", "", R.BLOCKED),
    ("all hosts have been failing for a long time and were last tried after this message arrived", "", "", "", "", R.EXPIRED),
    ("local configuration error", "", "", "", "", R.SYSTEMERROR),
    ("Command died with status 1: procmail", "", "", "", "", R.MAILERERROR),
    ("502 COMMAND NOT IMPLEMENTED", "", "502", "", "", R.SYNTAXERROR),
    # "user unknown" words prove a dead mailbox only at RCPT, with a status saying so, or in
    # the NDR's own sentence; after DATA or with no command they are a recipient's filter
    ("550 Unknown user a@example.net", "5.0.0", "550", "DATA", "", R.FILTERED),
    ("550 a@example.com... No such user", "", "550", "", "", R.FILTERED),
    ("550 5.2.1 <a@example.jp>... User Unknown", "5.2.1", "550", "", "", R.FILTERED),
    ("550 5.2.1 <a@example.jp>... User Unknown", "5.2.1", "550", "RCPT", "", R.USERUNKNOWN),
    ("550 #5.1.0 no such user", "5.1.0", "550", "", "", R.USERUNKNOWN),
    ("550 unknown user", "5.1.1", "550", "DATA", "", R.USERUNKNOWN),
    ("Your message wasn't delivered to a@example.it because the address couldn't be found.", "5.0.0", "", "", "", R.USERUNKNOWN),
    ("554 delivery error: dd This user doesn't have a example.com account", "5.0.0", "554", "", "", R.USERUNKNOWN),
    ("This user doesn't have a example.com account (a@example.com) [0]", "", "", "", "", R.FILTERED),
    # multi-line replies: repeated "550-5.7.1" prefixes do not break a phrase
    ("550-5.7.1 [192.0.2.1] Messages with multiple 550 5.7.1 addresses in From: header are not accepted.", "5.7.1", "550", "DATA", "", R.NOTCOMPLIANTRFC),
    ("550-5.7.1 This message is not 550-5.7.1 RFC 5322 compliant", "5.7.1", "550", "DATA", "", R.NOTCOMPLIANTRFC),
    # stock wording of common MTAs and providers
    ("550 5.1.1 <a@example.com>: Recipient address rejected: User unknown in virtual alias table", "5.1.1", "550", "RCPT", "", R.USERUNKNOWN),
    ("554 5.7.1 <unknown[192.0.2.1]>: Client host rejected: Access denied", "5.7.1", "554", "RCPT", "", R.BLOCKED),
    ("450 4.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.1]", "4.7.1", "450", "RCPT", "", R.REQUIREPTR),
    ("553 5.7.1 <s@example.net>: Sender address rejected: not owned by user u@example.net", "5.7.1", "553", "RCPT", "", R.REJECTED),
    ("554 5.7.1 Rejected: SPF fail", "5.7.1", "554", "MAIL", "", R.AUTHFAILURE),
    ("550 5.7.1 Email rejected per DMARC policy for example.net", "5.7.1", "550", "DATA", "", R.AUTHFAILURE),
    ("421 4.7.0 Too many connections from 192.0.2.1, try again later", "4.7.0", "421", "CONN", "", R.TOOMANYCONN),
    ("554 Message rejected: Email address is not verified.", "", "554", "DATA", "email-smtp.us-east-1.amazonaws.com", R.NORELAYING),
    ("552 Message size exceeds maximum permitted", "", "552", "DATA", "", R.MESGTOOBIG),
    ("554 30 Sorry, your message size exceeds 41943040 bytes.", "", "554", "DATA", "", R.MESGTOOBIG),
    ("550 Message rejected because it contains malware", "", "550", "DATA", "", R.VIRUSDETECTED),
    ("554 5.7.1 This message has been blocked because it contains a banned attachment", "5.7.1", "554", "DATA", "", R.POLICYVIOLATION),
    ("connect to mx.example.org[192.0.2.1]:25: Connection refused", "4.4.1", "", "", "", R.BLOCKED),
    ("conversation with mx.example.org[192.0.2.1] timed out while receiving the initial server greeting", "4.4.2", "", "", "", R.NETWORKERROR),
    ("mail for example.org loops back to myself", "5.4.6", "", "", "", R.SYSTEMERROR),
    ("553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)", "", "553", "RCPT", "", R.NORELAYING),
    ("550 5.7.1 Relaying denied. IP name lookup failed [192.0.2.1]", "5.7.1", "550", "RCPT", "", R.NORELAYING),
    ("421 Service not available, closing transmission channel", "", "421", "CONN", "", R.BLOCKED),
    ("550 No such domain at this location", "", "550", "RCPT", "", R.HOSTUNKNOWN),
    ("Host or domain name not found. Name service error for name=example.invalid type=A: Host not found", "5.4.4", "", "", "", R.HOSTUNKNOWN),
    ("DNS Error: 39857475 DNS type 'mx' lookup of example.invalid responded with code NXDOMAIN", "4.0.0", "", "", "", R.NETWORKERROR),
    ("Sorry. Although I'm listed as a best-preference MX or A for that host, it isn't in my control/locals file, so I don't treat it as local. (#5.4.6)", "5.4.6", "", "", "", R.SYSTEMERROR),
    ("This message is looping: it already has my Delivered-To line. (#5.4.6)", "5.4.6", "", "", "", R.NETWORKERROR),
    ("550 5.7.1 RESOLVER.RST.NotAuthorized; not authorized", "5.7.1", "550", "", "", R.FILTERED),
    ("554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException", "5.2.2", "554", "", "", R.MAILBOXFULL),
    ("TLS is required, but was not offered by host mx.example.org[192.0.2.1]", "4.7.4", "", "", "", R.FAILEDSTARTTLS),
    ("452 4.4.5 Insufficient disk space; try again later", "4.4.5", "452", "MAIL", "", R.SYSTEMFULL),
    ("421 4.4.5 Server busy, try again later", "4.4.5", "421", "", "", R.TOOMANYCONN),
    ("Command time limit exceeded: \"/usr/bin/procmail\"", "5.3.0", "", "", "", R.MAILERERROR),
    # the seed help pages: m-FILTER status codes and messages
    ("501 5.5.4 Invalid Address", "5.5.4", "501", "RCPT", "", R.USERUNKNOWN),
    ("501 5.1.3 Bad recipient address syntax", "5.1.3", "501", "RCPT", "", R.USERUNKNOWN),
    ("502 COMMAND NOT IMPLEMENTED", "", "502", "MAIL", "", R.SYNTAXERROR),
    ("535 authorization failed (#5.7.0)", "5.7.0", "535", "", "", R.SECURITYERROR),
    ("550 5.7.1 Relaying denied. IP name lookup failed", "5.7.1", "550", "RCPT", "", R.NORELAYING),
    ("552 sorry, that message size exceeds my databytes limit (#5.3.4)", "5.3.4", "552", "DATA", "", R.MESGTOOBIG),
    ("553 Invalid address syntax", "", "553", "RCPT", "", R.USERUNKNOWN),
    ("554 <a@example.jp>: Recipient address rejected: Access denied", "", "554", "RCPT", "", R.USERUNKNOWN),
    ("555 5.5.4 Unsupported option: AUTH=<>", "5.5.4", "555", "MAIL", "", R.SYNTAXERROR),
    ("541 Relay prohibition", "", "541", "RCPT", "", R.NORELAYING),
    ("552 Channel size limit exceeded", "", "552", "DATA", "", R.MESGTOOBIG),
    # the seed help pages: LINE WORKS SMTP errors
    ("421 4.3.2 Too many concurrent connection. This connection will be closed", "4.3.2", "421", "", "", R.TOOMANYCONN),
    ("421 4.3.2 Your ip blocked from this server", "4.3.2", "421", "", "", R.BLOCKED),
    ("452 4.7.1 Sent too many messages", "4.7.1", "452", "", "", R.SPEEDING),
    ("550 5.4.4 Sorry, I couldn't find any host by that name", "5.4.4", "550", "", "", R.HOSTUNKNOWN),
    ("550 5.7.1 Message was blocked as some attached file was not safe", "5.7.1", "550", "DATA", "", R.VIRUSDETECTED),
    ("550 5.7.1 Sender rejected because SPF check failed", "5.7.1", "550", "MAIL", "", R.AUTHFAILURE),
    ("550 5.7.1 Your mail is classified as SPAM and REJECTED", "5.7.1", "550", "DATA", "", R.SPAMDETECTED),
    ("553 5.1.2 The sender address is not a valid RFC-5321 address", "5.1.2", "553", "MAIL", "smtp.worksmobile.com", R.REJECTED),
    ("553 5.1.2 The sender address is not a valid RFC-5321 address", "5.1.2", "553", "", "", R.REJECTED),
    ("554 5.6.0 Mail message is malformed. Not accepted", "5.6.0", "554", "DATA", "", R.CONTENTERROR),
    # the seed help pages: Japanese ISPs and marketing advice
    ("553 Spam or junk mail threshold exceeded.", "", "553", "DATA", "", R.SPAMDETECTED),
    ("554 Unsolicited Bulk Email not accepted!! Check", "", "554", "DATA", "", R.SPAMDETECTED),
    ("Line Too Long", "", "", "", "", R.CONTENTERROR),
    ("could not send message for past 4 hours", "", "", "", "", R.EXPIRED),
    ("Transaction failed. Local User Inbox Full", "", "", "", "", R.MAILBOXFULL),
    ("554 delivery error: dd Sorry your message to a@yahoo.co.jp cannot be delivered. This account has been disabled or discontinued [#102].", "", "554", "DATA", "mx2.mail.yahoo.co.jp", R.SUSPEND),
    ("JWH check_os_overquota: Disk quota exceeded", "", "", "", "", R.MAILBOXFULL),
    # providers' stock wording
    ("552 5.2.2 The email account that you tried to reach is over quota.", "5.2.2", "552", "RCPT", "gmail-smtp-in.l.google.com", R.MAILBOXFULL),
    ("421 4.7.0 Our system has detected an unusual rate of unsolicited mail originating from your IP address.", "4.7.0", "421", "DATA", "gmail-smtp-in.l.google.com", R.BLOCKED),
    ("421-4.7.26 This mail has been rate limited because it is unauthenticated. Gmail requires all senders to authenticate", "4.7.26", "421", "DATA", "gmail-smtp-in.l.google.com", R.AUTHFAILURE),
    ("451-4.7.24 The SPF record of the sender's domain has a syntax error.", "4.7.24", "451", "MAIL", "gmail-smtp-in.l.google.com", R.AUTHFAILURE),
    ("451-4.4.2 Timeout - closing connection.", "4.4.2", "451", "DATA", "gmail-smtp-in.l.google.com", R.EXPIRED),
    ("550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).", "5.7.1", "550", "RCPT", "hotmail-com.olc.protection.outlook.com", R.BLOCKED),
    ("554 delivery error: dd Sorry your message to a@yahoo.com cannot be delivered. This mailbox is disabled (554.30).", "", "554", "DATA", "mta5.am0.yahoodns.net", R.SUSPEND),
    ("552 1 Requested mail action aborted, mailbox not found", "", "552", "RCPT", "mta7.am0.yahoodns.net", R.USERUNKNOWN),
    ("553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.1, because the ip is in Spamhaus's list", "5.7.1", "553", "CONN", "mta7.am0.yahoodns.net", R.BLOCKED),
    ("550 5.7.0 Blocked - see https://support.apple.com/en-us/HT204137", "5.7.0", "550", "CONN", "mx01.mail.icloud.com", R.BLOCKED),
    ("554-Bad DNS PTR resource record.", "", "554", "CONN", "mx00.emig.gmx.net", R.REQUIREPTR),
    ("550 Message was not accepted -- invalid mailbox. Local mailbox a@mail.ru is unavailable: user not found", "", "550", "RCPT", "mxs.mail.ru", R.USERUNKNOWN),
    # precedence: an earlier row wins when two phrases match
    ("user unknown; mailbox full", "", "550", "", "", R.MAILBOXFULL),
    ("spam detected from unknown user", "", "550", "", "", R.SPAMDETECTED),
    # Japanese phrases (NFKC: full-width text compares equal)
    ("宛先不明のためメールを配送できませんでした", "", "550", "RCPT", "", R.USERUNKNOWN),
    ("宛先不明のためメールを配送できませんでした", "", "", "", "", R.FILTERED),   # no command: not proven
    ("宛先のメールアドレスが存在しません", "5.1.1", "", "", "", R.USERUNKNOWN),
    ("差出人のメールアドレスが存在しません", "", "", "", "", R.REJECTED),
    # the Japanese Domino directory miss stays onhold, as the Domino and Notes detectors say
    ("ﾕｰｻﾞｰ kijitora は Domino ﾃﾞｨﾚｸﾄﾘには見つかりません", "", "", "", "", R.ONHOLD),
    # BSD mail.local on the final host: no such local account, whatever the SMTP wrapper says
    ("mail.local: unknown user: tanaka 554 5.3.0 <tanaka@example.net>... Service unavailable",
     "5.3.0", "554", "", "", R.USERUNKNOWN),
    ("送信先のメールボックスが一杯のため、送信できませんでした。", "", "", "", "", R.MAILBOXFULL),
    ("ＵＳＥＲ ＵＮＫＮＯＷＮ", "", "550", "RCPT", "", R.USERUNKNOWN),
    ("メールボックスの容量オーバーです", "", "", "", "", R.MAILBOXFULL),
    ("受信拒否設定により配信できませんでした", "", "", "", "", R.FILTERED),
    ("逆引きできません", "", "550", "", "", R.REQUIREPTR),
    ("550 存在しないユーザです", "", "550", "DATA", "", R.USERUNKNOWN),
    ("指定された宛先は存在しません", "", "", "", "", R.USERUNKNOWN),
    ("宛先が存在しません", "", "", "", "", R.USERUNKNOWN),
    ("受信者のメール アドレスが見つかりませんでした", "", "", "", "", R.USERUNKNOWN),
    ("宛先のメールアドレスが見つかりませんでした", "", "", "", "", R.USERUNKNOWN),
    ("送信先メールアドレスが見つかりませんでした", "", "", "", "", R.USERUNKNOWN),
    ("受信者のメール アドレスが見つからなかったため、配信できませんでした", "", "", "", "", R.USERUNKNOWN),
    ("送信者のメールアドレスが見つかりませんでした", "", "550", "", "", R.REJECTED),
    ("差出人のアドレスが見つかりませんでした", "", "550", "", "", R.REJECTED),
    ("差出人アドレスが存在しないため受信できません", "", "550", "", "", R.REJECTED),
    ("送信者のアドレスが拒否されました", "", "550", "", "", R.REJECTED),
    ("送信元のドメインが見つかりません", "", "550", "", "", R.REJECTED),
    ("送信者ドメインが存在しません", "", "550", "", "", R.REJECTED),
    ("受信者の設定により受信が拒否されました", "", "550", "DATA", "", R.FILTERED),
    ("このアカウントは停止されています", "", "550", "", "", R.SUSPEND),
    ("送信者認証(SPF認証)に失敗しました", "", "550", "", "", R.AUTHFAILURE),
    ("DKIM認証に失敗しました", "", "550", "", "", R.AUTHFAILURE),
    ("送信元IPアドレスがブラックリストに登録されています", "", "550", "", "", R.BLOCKED),
    ("添付ファイルのサイズが大きすぎます", "", "552", "", "", R.MESGTOOBIG),
    ("宛先のメールサーバーに接続できませんでした", "", "", "", "", R.NETWORKERROR),
    ("メールの送信数が制限を超えました", "", "450", "", "", R.SPEEDING),
    ("宛先が多すぎます", "", "452", "", "", R.TOOMANYCONN),
    ("差出人のメールアドレス宛てに返送しています。宛先のドメインが存在しないため", "", "550", "", "", R.HOSTUNKNOWN),
    ("アドレスが見つからなかったか、メールを受信できないアドレスです", "", "", "", "", R.USERUNKNOWN),
    ("メールボックスの容量を超えています", "", "", "", "", R.MAILBOXFULL),
    ("メールサイズが制限を超えています", "", "", "", "", R.MESGTOOBIG),
    ("差出人のメールアドレスが存在しないため受信を拒否しました", "", "550", "", "", R.REJECTED),
    ("送信者のメールアドレスが存在しません", "", "550", "", "", R.REJECTED),
    ("差出人のドメインが存在しません", "", "550", "", "", R.REJECTED),
    ("送信者のドメインが存在しません", "", "550", "", "", R.REJECTED),
    ("宛先のドメインが存在しないため配送できませんでした", "", "", "", "", R.HOSTUNKNOWN),
    ("宛先ドメインが見つかりません", "", "", "", "", R.HOSTUNKNOWN),
    ("ホストが見つかりません", "", "", "", "", R.HOSTUNKNOWN),
    ("送信先のメールボックスが一杯のため、送信できませんでした。", "", "", "", "", R.MAILBOXFULL),
    ("JWH check_mbx_overquota: Mailbox quota exceeded: mailbox is full", "", "", "", "", R.MAILBOXFULL),
    # provider rows (keyed by host suffix)
    ("550-5.7.1 Our system has detected that this message is likely unsolicited mail", "5.7.1", "550", "DATA", "gmail-smtp-in.l.google.com", R.SPAMDETECTED),
    ("421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints", "4.7.0", "421", "MAIL", "mx.example.org", R.BLOCKED),
    ("421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred", "4.7.0", "421", "", "mta7.am0.yahoodns.net", R.REJECTED),
    ("421 4.7.1 [TSS11] Excessive unknown recipients - possible Open Relay", "4.7.1", "421", "RCPT", "mta7.am0.yahoodns.net", R.BLOCKED),
    ("451 Message temporarily deferred due to unresolvable RFC.5321 from domain", "", "451", "MAIL", "mta7.am0.yahoodns.net", R.REJECTED),
    ("554 delivery error: dd This user doesn't have a yahoo.com account", "", "554", "", "mta5.am0.yahoodns.net", R.USERUNKNOWN),
    ("550 5.5.0 Requested action not taken: mailbox unavailable", "5.5.0", "550", "RCPT", "hotmail.com", R.USERUNKNOWN),
    ("550 5.7.606 Access denied, banned sending IP", "5.7.606", "550", "", "outlook-com.olc.protection.outlook.com", R.BLOCKED),
    ("550 5.4.1 Recipient address rejected: Access denied", "5.4.1", "550", "RCPT", "example-com.mail.protection.outlook.com", R.USERUNKNOWN),
    ("550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", "5.1.10", "550", "", "tyzpr01mb1234.apcprd01.prod.exchangelabs.com", R.USERUNKNOWN),
    ("550 5.4.1 Relay Access Denied", "5.4.1", "550", "RCPT", "example-jp.mail.protection.outlook.com", R.NORELAYING),
    ("553 Relaying disallowed. Invalid Domain - example.jp", "", "553", "RCPT", "mx.zoho.com", R.NORELAYING),
    ("550 5.7.1 No such user!", "5.7.1", "550", "", "mx.yandex.ru", R.USERUNKNOWN),
    ("550 Message was not accepted -- invalid mailbox.  Local mailbox a@mail.ru is unavailable: user not found", "", "550", "", "mxs.mail.ru", R.USERUNKNOWN),
    ("550 5.1.1 RCP-P2 http://postmaster.facebook.com/response_codes#rcp Refused due to recipient preferences", "5.1.1", "550", "RCPT", "mx.facebook.com", R.FILTERED),
    ("550 5.7.1 POL-P2 http://postmaster.facebook.com/response_codes#pol Facebook will no longer accept mail from your mail server", "5.7.1", "550", "", "msgin.t.facebook.com", R.BLOCKED),
    ("554 5.7.1 [2] Message rejected under suspicion of SPAM", "5.7.1", "554", "", "mx.yandex.ru", R.SPAMDETECTED),
    ("550 Mailbox not found", "", "550", "", "mx1.qq.com", R.USERUNKNOWN),
    ("550 Ip frequency limited", "", "550", "", "mx1.qq.com", R.SPEEDING),
    ("554 IP=192.0.2.1 - A problem occurred. (Ask your postmaster for help or to contact neosmtp@cox.net to clarify.) CXBL", "", "554", "", "cox.net", R.BLOCKED),
    ("550 5.7.1 Service refused, please try later. OFR004_103", "5.7.1", "550", "", "smtp-in.orange.fr", R.BLOCKED),
    ("550 5.2.0 Mail rejete. Mail rejected. OFR_506 [506]", "5.2.0", "550", "DATA", "smtp-in.orange.fr", R.SPAMDETECTED),
    # KDDI/au and NTT docomo: the same words mean a missing mailbox or the user's filter
    ("550 : User unknown", "", "550", "", "lsean.ezweb.ne.jp", R.FILTERED),
    ("550 5.5.0 Requested action not taken: mailbox unavailable (banned sending IP)", "5.5.0", "550", "RCPT", "hotmail.com", R.BLOCKED),
    ("550 Mailbox is frozen. See http://mail.i.ua/err/3/", "", "550", "", "mx3.email.ua", R.SUSPEND),
    ("550 User is not found. See http://mail.i.ua/err/2/", "", "550", "", "i.ua", R.USERUNKNOWN),
    ("550 5.2.0 Mail rejete. Mail rejected. OFR_506 [506]", "5.2.0", "550", "DATA", "smtp.wanadoo.fr", R.SPAMDETECTED),
    ("554 5.7.1 <x[192.0.2.1]>: Client host rejected: LPN000_630", "5.7.1", "554", "RCPT", "smtpz4.laposte.net", R.POLICYVIOLATION),
    ("550 5.1.0 <s@example.net> sender rejected. AUP#CDRBL", "5.1.0", "550", "MAIL", "cxr.mx.a.cloudfilter.net", R.BLOCKED),
    ("550 5.1.0 <s@example.net> sender rejected. AUP#In-1310", "5.1.0", "550", "", "charter.net", R.TOOMANYCONN),
    ("550 5.1.1 <a@example.com> - 192.0.2.1 has sent to too many recipients this hour. IB607", "5.1.1", "550", "RCPT", "smtp.secureserver.net", R.SPEEDING),
    ("554 Host network not allowed", "", "554", "RCPT", "us-smtp-inbound-1.mimecast.com", R.POLICYVIOLATION),
    ("550 <a@ezweb.ne.jp>: User unknown", "", "550", "RCPT", "lsean.ezweb.ne.jp", R.USERUNKNOWN),
    ("550 <a@au.com>: User unknown", "5.1.1", "550", "RCPT", "msmx.au.com", R.USERUNKNOWN),
    ("550 user unknown", "", "550", "DATA", "ezweb.ne.jp", R.FILTERED),
    ("550 user unknown", "", "550", "RCPT", "ezweb.ne.jp", R.USERUNKNOWN),
    ("550 Unknown user a@docomo.ne.jp", "5.1.1", "550", "RCPT", "mfsmax.docomo.ne.jp", R.USERUNKNOWN),
    ("550 Unknown user a@docomo.ne.jp", "5.2.0", "550", "DATA", "mfsmax.docomo.ne.jp", R.FILTERED),
    ("550 Unknown user a@docomo.ne.jp", "5.0.0", "550", "DATA", "mfsmax.docomo.ne.jp", R.FILTERED),
    ("550 Unknown user a@docomo.ne.jp", "5.0.0", "550", "RCPT", "mfsmax.docomo.ne.jp", R.USERUNKNOWN),
    ("Unknown user a@docomo.ne.jp", "5.0.0", "550", "", "docomo.ne.jp", R.FILTERED),
    ("552 Too much mail data", "", "552", "DATA", "mfsmax.docomo.ne.jp", R.MAILBOXFULL),
    ("552 Too many recipients", "", "552", "RCPT", "mfsmax.docomo.ne.jp", R.TOOMANYCONN),
    ("503 Bad sequence of commands", "", "503", "DATA", "mfsmax.docomo.ne.jp", R.SYNTAXERROR),
    ("504 Command parameter not implemented", "5.0.0", "504", "DATA", "mfsmax.docomo.ne.jp", R.SYNTAXERROR),
]


@pytest.mark.parametrize("diagnostic,status,reply_code,command,host,expected", CASES)
def test_reason_for(diagnostic, status, reply_code, command, host, expected):
    assert reason_for(diagnostic, status, reply_code, command, host) is expected


def test_every_failure_reason_is_reachable_from_the_cases():
    reached = {case[-1] for case in CASES}
    kind_fixed = {R.FEEDBACK, R.VACATION, R.DELIVERED}  # set by the engine from the kind
    assert set(Reason) - kind_fixed <= reached, set(Reason) - kind_fixed - reached


def test_the_slice_index_gives_the_plain_scan_answer():
    """``_phrases`` and the override words (indexed by words) and a scan of every entry
    agree, on every phrase and on pairs of phrases in both orders (precedence decides between
    them), Japanese ones and texts mixing scripts included."""
    import random

    from classifiers import reasons

    samples = ["x " + p.replace("*", " x ") + " x" for _, phrases in PHRASES for p in phrases]
    rng = random.Random(7)
    pairs = [f"{a} then {b}" for a, b in (rng.sample(samples, 2) for _ in range(3000))]
    mixed = [f"エラー:{a} {b}送信" for a, b in (rng.sample(samples, 2) for _ in range(500))]
    for text in samples + pairs + mixed + ["", "abc", "ＵＳＥＲ ＵＮＫＮＯＷＮ", "x  user  unknown"]:
        text = normalise_text(text)
        assert reasons._phrases(text) is reasons._first_match(text, reasons._ROWS), text
        assert (reasons._indexed_match(text, reasons.keys_of(text), reasons._OVERRIDE_TABLE)
                is reasons._first_match(text, reasons._OVERRIDE_ROWS)), text


def test_long_input_is_bounded():
    import time
    text = "x" * 2_000_000 + " user unknown"
    started = time.perf_counter()
    assert reason_for(text, "", "550", "RCPT") is R.ONHOLD   # beyond MAX_TEXT: not read
    assert reason_for("user unknown " + "x" * 2_000_000, "", "550", "RCPT") is R.USERUNKNOWN
    assert time.perf_counter() - started < 0.5


def test_every_phrase_row_decides_its_own_reason():
    """Each phrase alone gives its row's reason, unless an earlier row claims it on purpose."""
    for reason, phrases in PHRASES:
        for phrase in phrases:
            text = "x " + phrase.replace("*", " x ") + " x"
            assert phrase_reason(text) is not None, phrase
            got = phrase_reason(text)
            earlier = [r for r, _ in PHRASES[: [r for r, _ in PHRASES].index(reason)]]
            assert got is reason or got in earlier, (phrase, got, reason)
