"""Why a delivery failed, from what the NDR says: data tables and one small lookup.

``reason_for(diagnostic, status, reply_code, command, host)`` decides in this order:

1. a provider row (``providers.PROVIDER_ROWS``) for the remote host or recipient domain;
   like every dead-address reason below, one yields to the words in ``OVERRIDE_USERUNKNOWN``;
2. a *specific* enhanced status (``SPECIFIC_STATUS``): 5.2.2 is a full mailbox whatever
   the text says (a status of a dead address yields to words of the sender-side or transient
   reasons in ``OVERRIDE_USERUNKNOWN``: a dead address must be beyond doubt);
3. the phrase tables (``PHRASES``), rows in precedence order: the first reason one of whose
   phrases occurs in the lowercased diagnostic wins; words of a dead address (user or host
   unknown) yield to the same ``OVERRIDE_USERUNKNOWN`` words, and "user unknown" words prove
   a dead mailbox only in reply to RCPT TO;
4. the SMTP command a 5xx reply answered (``COMMAND_REASON``: a refusal of MAIL FROM is
   ``rejected``, of the greeting or HELO ``blocked``);
5. a *generic* status (``GENERIC_STATUS``: 5.7.1, 5.2.0 ... say little alone), then the
   reply code (``REPLY_CODE``);
6. ``onhold`` when the server said something no rule knows, ``undefined`` when it said nothing.

Whatever the tables say, a dead-address reason in reply to MAIL FROM becomes ``rejected``:
"550 5.1.1 <sender>... User unknown" there is about the sender, not the recipient.

A phrase is lowercase text matched as a substring; ``*`` inside a phrase stands for any run of
text (spaces beside it are literal), so ``"user * unknown"`` matches "user foo@example.jp
unknown" (parts found in order, with ``str.find``: linear, no regular expressions). Japanese phrases are matched after NFKC
normalisation, so full-width letters and half-width kana in NDRs compare equal.
"""
from __future__ import annotations

import re
import unicodedata
from itertools import chain
from operator import itemgetter

from .model import DEAD_REASONS, Reason
from .providers import provider_reason

R = Reason

#: Enhanced status codes (RFC 3463 and the IANA registry) precise enough to name the reason
#: whatever the text says.
SPECIFIC_STATUS: dict[str, Reason] = {
    "5.1.1": R.USERUNKNOWN,       # bad destination mailbox address
    "5.1.3": R.USERUNKNOWN,       # bad destination mailbox address syntax
    "5.1.4": R.USERUNKNOWN,       # destination mailbox address ambiguous
    "5.1.6": R.HASMOVED,          # destination mailbox has moved, no forwarding address
    "5.1.7": R.REJECTED,          # bad sender's mailbox address syntax
    "5.1.8": R.REJECTED,          # bad sender's system address
    "5.1.10": R.NOTACCEPT,        # RFC 7505: recipient address has null MX
    "4.1.6": R.HASMOVED,
    "4.1.7": R.REJECTED,
    "4.1.8": R.REJECTED,
    "4.2.2": R.MAILBOXFULL,
    "5.2.2": R.MAILBOXFULL,       # mailbox full
    "5.2.3": R.EXCEEDLIMIT,       # message length exceeds administrative limit
    "4.2.3": R.EXCEEDLIMIT,
    "4.3.1": R.SYSTEMFULL,        # mail system full
    "5.3.1": R.SYSTEMFULL,
    "5.3.4": R.MESGTOOBIG,        # message too big for system
    "4.3.4": R.MESGTOOBIG,
    "5.4.4": R.HOSTUNKNOWN,       # unable to route (no DNS record for the domain)
    "4.4.6": R.NETWORKERROR,
    "5.4.7": R.EXPIRED,
    "5.5.3": R.TOOMANYCONN,       # too many recipients
    "4.5.3": R.TOOMANYCONN,
    "5.6.1": R.CONTENTERROR,      # media not supported
    "5.6.2": R.CONTENTERROR,      # conversion required and prohibited
    "5.6.3": R.CONTENTERROR,
    "5.7.13": R.SUSPEND,          # user account disabled
    "5.7.23": R.AUTHFAILURE,      # SPF validation failed
    "5.7.24": R.AUTHFAILURE,      # SPF validation error
    "5.7.25": R.REQUIREPTR,       # reverse DNS validation failed
    "5.7.26": R.AUTHFAILURE,      # multiple authentication checks failed (DMARC)
    "5.7.27": R.NOTACCEPT,        # null MX: Sendmail says it of the recipient's domain (a sender's
                                  # null MX comes with "sender address rejected" words)
    "5.7.30": R.FAILEDSTARTTLS,   # REQUIRETLS support required
    "5.7.509": R.AUTHFAILURE,     # Microsoft: DMARC reject of the sending domain
    "5.7.510": R.SECURITYERROR,   # Microsoft: sender has no authentication (5.7.515 too)
    "5.7.515": R.AUTHFAILURE,     # Microsoft: sender domain does not meet authentication
    "4.7.650": R.BADREPUTATION,   # Microsoft: IP temporarily rate limited for reputation
    # Exchange / Office 365 extended codes (learn.microsoft.com, "NDRs in Exchange Online")
    "5.4.300": R.EXPIRED,         # message expired
    "5.4.310": R.HOSTUNKNOWN,     # DNS domain does not exist
    "5.4.312": R.NETWORKERROR,    # DNS query failed
    "5.4.316": R.EXPIRED,         # message expired, connection refused
    "4.4.316": R.EXPIRED,
    "5.4.14": R.NETWORKERROR,     # hop count exceeded, possible mail loop
    "5.2.121": R.SPEEDING,        # recipient's per-hour receive limit from this sender
    "5.2.122": R.SPEEDING,
    "5.7.54": R.NORELAYING,       # unable to relay recipient in non-accepted domain
    "5.7.64": R.NORELAYING,       # TenantAttribution; relay access denied
    "5.7.57": R.SECURITYERROR,    # client not authenticated to send anonymous mail
    "5.7.133": R.SECURITYERROR,   # sender not authenticated for group
    "5.7.134": R.SECURITYERROR,   # sender not authenticated for mailbox
    "5.7.135": R.SECURITYERROR,   # sender not authenticated for public folder
    "5.7.136": R.SECURITYERROR,   # sender not authenticated for mail user
    "5.7.501": R.SPAMDETECTED,    # access denied, spam abuse detected
    "5.7.511": R.BLOCKED,         # access denied, banned sender
    "5.7.520": R.POLICYVIOLATION, # organization does not allow external forwarding
    "5.7.606": R.BLOCKED,         # access denied, banned sending IP
    "5.7.708": R.BLOCKED,         # access denied, traffic not accepted from this IP
    "5.7.750": R.BLOCKED,         # client blocked from sending from unregistered domains
}

#: Status codes too broad to decide alone: a phrase decides first, these are the fallback.
GENERIC_STATUS: dict[str, Reason] = {
    "5.1.2": R.HOSTUNKNOWN,       # bad destination system address (LINE WORKS: bad sender too)
    "5.1.0": R.USERUNKNOWN,       # other address status
    "5.1.9": R.SYSTEMERROR,
    "4.1.9": R.SYSTEMERROR,
    "5.2.0": R.FILTERED,          # other mailbox status
    "5.2.1": R.SUSPEND,           # mailbox disabled, not accepting messages
    "4.2.1": R.SUSPEND,
    "5.2.4": R.SYSTEMERROR,       # mailing list expansion problem
    "5.3.0": R.SYSTEMERROR,       # other mail system status
    "4.3.0": R.SYSTEMERROR,
    "5.3.2": R.SYSTEMERROR,       # system not accepting network messages (a server state,
                                  # not a dead domain: null MX says notaccept in words)
    "4.3.2": R.TOOMANYCONN,       # LINE WORKS: too many concurrent connections
    "5.3.3": R.SYSTEMERROR,
    "5.3.5": R.SYSTEMERROR,       # system incorrectly configured
    "4.3.5": R.SYSTEMERROR,
    "5.4.0": R.NETWORKERROR,
    "4.4.0": R.NETWORKERROR,
    "5.4.1": R.NETWORKERROR,      # no answer from host (Office 365's "access denied": a provider row)
    "4.4.1": R.EXPIRED,           # no answer from host
    "4.4.5": R.TOOMANYCONN,       # system congestion (Sendmail: insufficient disk space)
    "4.4.7": R.EXPIRED,           # delivery time expired ("connection refused" says why)
    "4.4.2": R.NETWORKERROR,      # bad connection
    "5.4.3": R.SYSTEMERROR,       # directory server failure
    "5.4.6": R.NETWORKERROR,      # routing loop detected (qmail: a config error too)
    "4.4.3": R.SYSTEMERROR,
    "5.5.1": R.SYNTAXERROR,       # invalid command
    "5.5.2": R.SYNTAXERROR,       # syntax error
    "5.5.4": R.SYNTAXERROR,       # invalid command arguments
    "5.5.5": R.SYNTAXERROR,       # wrong protocol version
    "5.6.0": R.CONTENTERROR,
    "5.7.0": R.SECURITYERROR,     # other security or policy status
    "5.7.1": R.SECURITYERROR,     # delivery not authorized, message refused
    "4.7.1": R.BLOCKED,
    "5.7.2": R.SECURITYERROR,
    "5.7.3": R.SECURITYERROR,
    "5.7.4": R.SECURITYERROR,     # security features not supported
    "5.7.5": R.SECURITYERROR,
    "5.7.6": R.SECURITYERROR,
    "5.7.7": R.SECURITYERROR,
    "5.7.8": R.SECURITYERROR,     # authentication credentials invalid
    "5.7.9": R.POLICYVIOLATION,   # authentication mechanism is too weak
    "5.7.10": R.FAILEDSTARTTLS,   # encryption needed
    "5.7.11": R.FAILEDSTARTTLS,   # encryption required for requested authentication mechanism
    "5.7.15": R.SECURITYERROR,    # priority level is too low
}

#: What the SMTP command a 5xx reply answered says, when nothing more specific matched.
COMMAND_REASON: dict[str, Reason] = {
    "CONN": R.BLOCKED,            # refused at the greeting
    "HELO": R.BLOCKED,
    "EHLO": R.BLOCKED,
    "MAIL": R.REJECTED,           # the envelope sender was refused
    "STARTTLS": R.FAILEDSTARTTLS,
}

#: The last fallback: the bare SMTP reply code.
REPLY_CODE: dict[str, Reason] = {
    "421": R.BLOCKED,             # service not available, closing channel
    "450": R.ONHOLD,
    "451": R.SYSTEMERROR,         # local error in processing
    "452": R.TOOMANYCONN,         # insufficient system storage / too many recipients
    "500": R.SYNTAXERROR,
    "501": R.SYNTAXERROR,
    "502": R.SYNTAXERROR,
    "503": R.SYNTAXERROR,
    "504": R.SYNTAXERROR,
    "523": R.MESGTOOBIG,
    "530": R.SECURITYERROR,       # authentication required
    "534": R.SECURITYERROR,
    "535": R.SECURITYERROR,       # authentication credentials invalid
    "538": R.FAILEDSTARTTLS,
    "552": R.MAILBOXFULL,         # exceeded storage allocation
}

#: Sentences the reporting system writes itself (not a remote server's reply): they name the
#: reason whatever SMTP command the failure followed.
NDR_SENTENCES: tuple[tuple[Reason, tuple[str, ...]], ...] = (
    (R.USERUNKNOWN, (
        "because the address couldn't be found",    # Gmail / Outlook.com NDR prose
        "delivery error: dd this user doesn't have a",  # Yahoo MTA stock reply
        "存在しないユーザ",                   # Japanese: 存在しないユーザです
        "宛先は存在しません",
        "宛先が存在しません",
        "宛先の*アドレスが見つかりませんでした",    # Japanese NDRs, recipient side only:
        "受信者の*アドレスが見つかりませんでした",  # "送信者のアドレスが…" is the sender's
        "送信先*アドレスが見つかりませんでした",
        "受信者の*アドレスが見つからなかった",      # Outlook (Japanese)
        "アドレスが見つからなかったか",             # Gmail (Japanese): アドレスが見つからなかったか…
        "not listed in domino directory",     # Lotus Domino
        "not listed in public name & address book",  # Lotus Notes
        "mail.local: unknown user",            # BSD mail.local, the final host's delivery agent
    )),
)

#: Statuses that by themselves say the mailbox does not exist.
_USERUNKNOWN_STATUS = frozenset(
    code for code, reason in (*SPECIFIC_STATUS.items(), *GENERIC_STATUS.items())
    if reason is R.USERUNKNOWN)

#: (reason, phrases) in precedence order: the first row with a phrase in the text wins.
#: One phrase per line, lowercase; the comment names the system it comes from where known.
#: The order settles conflicts: states of a live mailbox first (full, too big, suspended,
#: moved), then the sender's problems (relaying, authentication, PTR, virus, spam, a refused
#: sender) so that none of them ever reads as a dead address, then the recipient's words
#: (user unknown, filters), then host, network and system trouble, catch-alls last.
PHRASES: tuple[tuple[Reason, tuple[str, ...]], ...] = (
    (R.MAILBOXFULL, (
        "account is exceeding their quota",
        "account is over quota",
        "account is temporarily over quota",
        "boite du destinataire pleine",      # Orange
        "delivery failed: over quota",
        "disc quota exceeded",
        "disk quota exceeded",
        "diskspace quota",
        "does not have enough space",
        "inbox full",                           # Local User Inbox Full
        "mail box full",
        "exceeded storage allocation",
        "exceeding its mailbox quota",
        "full mailbox",
        "is over disk quota",
        "is over quota",
        "mail quota exceeded",
        "mailbox exceeded the local limit",
        "mailbox full",
        "mailbox is full",
        "mailbox over quota",
        "mailbox size limit exceeded",
        "maildir over quota",
        "mailfolder is full",
        "no space left on device",
        "not enough disk space",
        "not enough storage space",
        "over the allowed quota",
        "quota exceeded",
        "quota violation for",
        "recipient reached disk quota",
        "mailbox would exceed maximum allowed storage",
        "has exceeded its disk space limit",
        "the user's space has been used up",
        "the user you are trying to reach is over quota",
        "user has exceeded quota",
        "user has too many messages on the server",
        "user is over quota",
        "user is over the quota",
        "user over quota",
        "mailbox * full",
        "容量オーバー",                       # Japanese ISPs: mailbox over capacity
        "容量超過",
        "メールボックスがいっぱい",
        "メールボックスが一杯",               # au one net: 送信先のメールボックスが一杯のため
        "メールボックスが満杯",               # JWH: メールボックスが満杯になりました
        "メールボックスの容量を超え",         # Japanese: メールボックスの容量を超えています
        "ディスク使用量が制限値に達しました",  # JWH check_os_overquota
        "local user inbox full",             # "Transaction failed. Local User Inbox Full"
        "user disk quota",                   # OCN: "User disk quota (100Mb) exceeded"
        "account disabled temporarly for exceeding receiving limits",
        "mail file size exceeds the maximum size allowed",
        "tried to reach is over quota",         # Gmail: 452 4.2.2
        "quotaexceeded",                        # Exchange: QuotaExceededException, MapiExceptionShutoffQuotaExceeded
        "mailbox has exceeded",
        "error: quota exceed",                  # Exim
        "mailbox exceeds allowed size",         # IMail
    )),
    (R.MESGTOOBIG, (
        "サイズが大きすぎ",                   # Japanese: 添付ファイルのサイズが大きすぎます
        "exceeded maximum inbound message size",
        "max message size exceeded",
        "mail size limit exceeded",          # 1&1 / IONOS
        "message file too big",
        "message length exceeds administrative limit",
        "message size exceeds fixed limit",
        "message size exceeds fixed maximum message size",
        "message size exceeds maximum value",
        "message too big",
        "message too large",                  # m-FILTER seed: 552 Error: message too large
        "message is too large",
        "exceeds my databytes limit",         # qmail: 552 sorry, that message size exceeds ...
        "exceeded my message size",           # LINE WORKS: 552 5.2.3
        "taille limite du message atteinte",  # Orange
        "message size * exceeds",
        "メールサイズが大きすぎ",
        "メールサイズが制限を超え",           # Japanese: メールサイズが制限を超えています
        "channel size limit exceed",         # m-FILTER FAQ: 552 Channel size limit exceeded
        "recipsizelimit",                       # Exchange: RESOLVER.RST.RecipSizeLimit
        "exceeded the message size limit",
        "sendersizelimit",                      # Exchange: RESOLVER.RST.SenderSizeLimit
        "the message size exceeds",             # Courier
        "message size exceeds",
        "your message size exceeds",            # Yahoo: 554 30
    )),
    (R.EXCEEDLIMIT, (
        "message header size exceeds limit",
        "message exceeds maximum fixed size",
    )),
    (R.SUSPEND, (
        "アカウントは停止",                   # Japanese: the account is suspended
        "アカウントが停止",
        " is currently suspended",
        " temporary locked",
        "archived recipient",
        "boite du destinataire archivee",     # Orange
        "email account that you tried to reach is disabled",  # Gmail
        "has been suspended",
        "inactive account",
        "invalid/inactive user",
        "is a deactivated mailbox",
        "is unavailable: user is terminated",
        "mailbox closed",
        "mailbox currently suspended",
        "mailbox disabled",
        "mailbox is frozen",
        "mailbox unavailable or access denied",
        "recipient rejected: temporarily inactive",
        "recipient suspend the service",
        "this account has been disabled or discontinued",
        "this account has been temporarily suspended",
        "this mailbox is disabled",
        "user or domain is disabled",
        "user suspended",
        "account is locked",
        "account disabled",
        "account has been disabled",
        "email account that you tried to reach is inactive",  # Gmail: 550 5.2.1
        "vdelivermail: account is locked",      # vpopmail
    )),
    (R.HASMOVED, (
        " has been replaced by ",
    )),
    (R.NORELAYING, (
        "as a relay",
        "domain isn't in my list of allowed rcpthosts",  # qmail: 553 (#5.7.1)
        "email address is not verified",        # Amazon SES
        "have no permission to relay",
        "is not permitted to relay through this server without authentication",
        "mail server requires authentication when attempting to send to a non-local e-mail address",
        "not allowed to relay through this machine",
        "not an open relay, so get lost",
        "relay access denied",
        "relay denied",
        "relay not permitted",
        "relaying denied",
        "relaying mail to ",
        "this system is not configured to relay mail",
        "unable to relay",
        "we don't handle mail for",
        "relaying not allowed",
        "relay prohibited",
        "relay prohibition",                 # m-FILTER FAQ: 541 Relay prohibition
        "recipient is not local",            # 553 Recipient is not local (Japanese ISPs)
        "invalid credentials for relay",        # Gmail
        "relay access is denied",
        "unable to relay recipient in non-accepted domain",  # Exchange Online 5.7.54
    )),
    (R.AUTHFAILURE, (
        "spf認証",                            # Japanese (NFKC, lowercased): SPF認証に失敗
        "dkim認証",
        "dmarc認証",
        "送信ドメイン認証",
        "//spf.pobox.com",
        "bad spf records for",
        "dmarc policy",
        "please inspect your spf settings",
        "sender policy framework (spf) fail",
        "sender policy framework violation",
        "spf (sender policy framework) domain authentication fail",
        "spf check: fail",
        "spf validation failed",
        "spf: fail",
        "spf fail",
        "spf hard fail",
        "failed spf",
        "spf check failed",                     # LINE WORKS: sender rejected because SPF check failed
        "dkim signature",
        "dkim check",
        "dkim validation",
        "dmarc validation",
        "dmarc check",
        "failed dmarc",
        "unauthenticated email",
        "is not allowed to send from <",
        "is not allowed to send mail.",
        "the sender is unauthenticated",        # Gmail, Yahoo: 5.7.26 / 5.7.9
        "fails to pass spf",                    # Gmail 5.7.26
        "fails to pass authentication checks",  # Gmail 5.7.26
        "does not have authentication information",  # Gmail
        "does not pass dmarc",                  # Exchange Online 5.7.509
        "dmarc verification",
        "dmarc check failed",                   # Tencent
        "spf record with a hard fail policy",   # Gmail
    )),
    (R.REQUIREPTR, (
        "access denied. ip name lookup failed",
        "connections not accepted from servers without a valid sender domain",  # Exim
        "fix reverse dns",
        "unverifyable sending ip",              # Exim: service permits N unverifyable sending IPs
        "mismatches client ip",                # Outlook.com: domain [x] mismatches client ip
        "all mail servers must have a ptr record with a valid reverse dns entry",
        "bad dns ptr resource record",
        "cannot find your hostname",
        "cannot find your reverse hostname",
        "ip name lookup failed",
        "no ptr record found",
        "please setup matching dns and rdns records",
        "reverse dns failed",
        "reverse dns required",
        "reverse dns lookup",
        "sender ip reverse lookup rejected",
        "does not have a ptr record",
        "the corresponding forward dns entry does not point to the sending ip",
        "servers/devices with no reverse dns",
        "unresolvable relay host name",
        "generic dns ptr-records",
        "your host name doesn't match with your ip address",
        "reverse dns entry",
        "ptr record",
        "invalid rdns record",
        "rdns",
        "逆引き",                            # Japanese: reverse DNS lookup
        "ipv6 sending guidelines regarding ptr records",  # Gmail
        "no reverse dns",
        "dns ptr",
    )),
    (R.VIRUSDETECTED, (
        "attached file was not safe",        # LINE WORKS: 550 5.7.1
        "it has a potentially executable attachment",
        "message was infected with",
        "mail contained a virus",
        "this form of attachment has been used by recent viruses or other malware",
        "virus detected",
        "virus phishing/malicious_url detected",
        "your message was infected with a virus",
        "contains a virus",
        "ウイルス",                          # Japanese: virus
        "virus found",
        "contains malware",
        "contains prohibited virus or spam content",
    )),
    (R.SPAMDETECTED, (
        "spam or junk mail threshold exceeded",  # 553 (Japanese ISPs)
        "unsolicited bulk email not accepted",   # 554 (Japanese ISPs)
        " - spam",
        "/help/help_spam_16.htm",
        "appears to be unsolicited",
        "unsolicited bulk email",
        "junk mail threshold",                  # 553 spam or junk mail threshold exceeded
        "blacklisted url in message",
        "block for spam",
        "blocked by policy: no spam please",
        "blocked by spamassassin",
        "classified as **spam**",
        "content filter rejection",
        "denied due to spam list",
        "high probability of spam",
        "is classified as spam",
        "mail content denied",
        "may consider spam",
        "message considered as spam or virus",
        "message contains spam or virus",
        "message content rejected",
        "message detected as spam",
        "message filtered. please see the faqs section on spam",
        "message flagged as spam",
        "message looks like spam",
        "seems to be a spam",
        "spamprofiler",                       # MailMarshal / Trustwave SEG
        "message rejected as spam",
        "message rejected because of unacceptable content",
        "message rejected due to suspected spam content",
        "rejected for possible spam/virus content",
        "our email server thinks this email is spam",
        "probable spam",
        "reject bulk.advertising",
        "due to spam classification",          # Google Groups
        "spamassassin score",
        "rejected - bulk email",
        "rejecting banned content",
        "rejecting mail content",
        "content with spam-like characteristics",
        "sending address not accepted due to spam filter",
        "spam blocked",
        "spam content matched",
        "spam detected",
        "spam email",
        "spam message rejected",
        "spam not accepted",
        "spam refused",
        "spam rejection",
        "spam score",
        "spambouncer identified spam",
        "spamming not allowed",
        "too much spam",
        "detected as spam",
        "rejected by spam filter",
        "classification as bulk mail",
        "looked like spam",
        "this message appears to be spam",
        "has been identified as spam",
        "scored as spam",
        "classified as spam",
        "recurrent pattern detection system",
        "spam message not queued",
        "we don't accept spam",
        "similar to spam we have received before",
        "local uribl policy",
        "had spam-like",
        "considered spam",
        "probably spam",
        "appears to be spam",
        "triggered a spam block",
        "may contain the spam contents",
        "failed several antispam checks",
        "message is spam",
        "judged to be spam",
        "迷惑メール",                        # Japanese: junk mail
        "スパム",
        "likely unsolicited mail",              # Gmail 550 5.7.1
        "suspicious due to the nature of the content",  # Gmail 421 4.7.0
        "spam is embedded in the email",        # Tencent
        "spam abuse detected",                  # Exchange Online 5.7.501
        "554 5.7.0 reject, id=",
        "bulk email",
    )),
    (R.REJECTED, (
        # Japanese: the sender is the subject of the sentence (…が存在しません, …は拒否されました)
        "差出人のメールアドレスが",
        "差出人のメールアドレスは",
        "送信者のメールアドレスが",
        "送信者のメールアドレスは",
        "送信元のメールアドレスが",
        "送信元のメールアドレスは",
        "差出人のアドレスが",
        "差出人のアドレスは",
        "送信者のアドレスが",
        "送信者のアドレスは",
        "差出人アドレスが",
        "差出人アドレスは",
        "送信者アドレスが",
        "送信者アドレスは",
        "送信元アドレスが",
        "送信元アドレスは",
        "差出人のドメインが",
        "差出人のドメインは",
        "送信者のドメインが",
        "送信者のドメインは",
        "送信元のドメインが",
        "送信元のドメインは",
        "差出人ドメインが",
        "差出人ドメインは",
        "送信者ドメインが",
        "送信者ドメインは",
        "送信元ドメインが",
        "送信元ドメインは",
        "<> invalid sender",
        "sender address is not a valid",        # LINE WORKS: 553 ... rfc-5321 / rfc-5322 address
        "sender address is unauthorized",       # LINE WORKS: 554 5.7.1
        "can't determine purported responsible address",
        "batv failed to verify",
        "batv validation failure",
        "backscatter protection detected an invalid or expired email address",
        "bogus mail from",
        "valid-address-filter",
        "domain of sender address",
        "email address is on senderfilterconfig list",
        "emetteur invalide",                 # Orange
        "empty envelope senders not allowed",
        "envelope blocked",
        "no third-party dsns",
        "from: domain is invalid",
        "fully qualified email address required",
        "invalid sender",
        "is not a registered gateway user",
        "mail from not owned by user",
        "mailfrom domain is listed in spamhaus",
        "null sender is not allowed",
        "returned mail not accepted here",
        "rfc 1035 violation",
        "sender address has null mx",
        "sender domain is empty",
        "sender domain listed at",
        "sender email address rejected",
        "sender is spammer",
        "sender not pre-approved",
        "sender rejected",
        "sender verify failed",
        "sender was rejected",
        "sender address rejected",
        "spam reporting address",
        "syntax error: empty email address",
        "rejected by batv defense",
        "this server does not accept mail from",
        "unsigned dsn for",
        "unroutable sender address",
        "you are not allowed to post to this mailing list",
        "you are sending to/from an address that has been blacklisted",
        "your email address has been blacklisted",
        "domain * is a dead domain",
        "sender * blacklisted",
        "sender domain not found",
        "sender verification failed",
        "couldn't check sender address",        # i.ua
        "administrative prohibition",           # Exim
        "mail from * refused",
        "sender domain does not exist",
        "sender's domain does not exist",
        "sender domain must exist",
        "sender domain unknown",
        "domain of sender",
        "mail from domain",
        "sender address domain",
        "sender address unknown",
        "unknown sender",
    )),
    (R.USERUNKNOWN, (
        "#5.1.1 bad address",
        "recipient address rejected.",          # Postfix, bare (no reason given)
        "address does not exist",
        "address unknown",
        "bad-mailbox",
        "can't accept user",
        "destination addresses were unknown",
        "destination server rejected recipients",
        "email address does not exist",
        "email address could not be found",
        "invalid mailbox",
        "invalid recipient",
        "is not a known user",
        "is not a valid mailbox",
        "is not an active address at this host",
        "mailbox does not exist",
        "mailbox invalid",
        "mailbox is inactive",
        "mailbox is unavailable",
        "mailbox not found",
        "mailbox not present",
        "mailbox unavailable",
        "no account by that name here",
        "no existe dicha persona",
        "no existe ese usuario",
        "no mail box available for this user",
        "no mailbox by that name is currently available",
        "no mailbox found",
        "invalid address",                      # m-FILTER seed: 501 5.5.4 invalid address
        "bad recipient address syntax",         # m-FILTER seed: 501 5.1.3
        "recipient address is not a valid",     # LINE WORKS: 553 5.1.2 ... rfc-5321 address
        "no mailbox here by that name",      # qmail
        "no such address here",
        "no such mailbox",
        "no such person at this address",
        "no such recipient",
        "no such user",
        "no valid recipients",
        "not a valid recipient",
        "not a valid user here",
        "not a local address",
        "recipient address rejected: invalid user",
        "recipient address rejected: invalid-recipient",
        "recipient address rejected: unknown user",
        "recipient address rejected: userunknown",
        "recipient does not exist",
        "recipient is not accepted",
        "recipient not exist",
        "recipient not found",
        "recipient unknown",
        "resolver.adr.recipientnotfound",    # Exchange
        "resolver.adr.recipnotfound",
        "sorry, user unknown",
        "sorry, badrcptto",
        "your envelope recipient has been deleted",
        "the email account that you tried to reach does not exist",  # Gmail
        "the email address you entered couldn't be found",           # Outlook
        "the user does not exist",
        "this user doesn't have a",             # Yahoo: this user doesn't have a yahoo.com account
        "this address no longer accepts mail",
        "this email address is wrong or no longer valid",
        "in my badrecipientto list",
        "not in my validrcptto list",
        "in my badrcptto list",
        "this spectator does not exist",
        "unknown address",
        "unknown e-mail address",
        "unknown local part",
        "unknown local-part",
        "unknown mailbox",
        "unknown recipient",
        "unknown user",
        "user does not exist",
        "user missing home directory",
        "user not active",
        "user not exist",
        "user not found",
        "user not known",
        "user unknown",
        "utilisateur inconnu",               # French MTAs
        "invalid or unknown virtual user",   # vpopmail
        "nonexistent user",
        "non-existent user",
        "user * doesn't exist",
        "user * does not exist",
        "user * not exist",
        "mailbox * does not exist",
        "recipient * was not found in",
        "no * in name directory",            # Lotus Domino
        "account * does not exist at the organization",  # Office 365
        "recipient not found by smtp address lookup",  # Exchange Online 5.1.10
        "resolver.adr.exrecipnotfound",         # Exchange
        "address not present in directory",
        "recipient address does not exist",     # Facebook, others
        "unknown or illegal alias",             # Sendmail
        "no such account",
        "resolver.adr.badprimary",              # Exchange
        "recipient address rejected: access denied",  # Postfix check_recipient_access, Office 365 5.4.1 (OCN: a provider row says filtered)
        "宛先不明",                                 # Japanese: unknown destination
        "宛先のメールアドレスが存在し",                       # Japanese: ... 存在しません / 存在しない
        "宛先のメールアドレスが見つかりません",
        "アカウントが存在しません",
        "ユーザが存在しません",
        "ユーザーが存在しません",
    )),
    (R.FILTERED, (
        "受信者の設定により",                 # Japanese: refused by the recipient's settings
        "because the recipient is only accepting mail from specific email addresses",
        "bounced address",
        "due to extended inactivity new mail is not currently being accepted for this mailbox",
        "has restricted sms e-mail",
        "is not accepting any mail",
        "message filtered",
        "message rejected due to user rules",
        "not found recipient account",
        "refused due to recipient preferences",
        "resolver.rst.notauthorized",        # Exchange: restricted recipient
        "this account is protected by",
        "user refuses to receive this mail",
        "user reject",
        "refuse to receive mail",
        "you have been blocked by the recipient",
        "受信拒否",                           # Japanese: refused by the recipient's settings
    )),
    (R.NOTCOMPLIANTRFC, (
        "this message is not rfc 5322 compliant",
        "not rfc 5322 compliant",
        "rfcmessagenoncompliant",            # Gmail
        "duplicate header",
        "multiple addresses in from: header are not accepted",
        "missing a valid address in from: header",  # Gmail 550 5.7.1
        "message contains multiple from",
    )),
    (R.BADREPUTATION, (
        "rate limited due to ip reputation",
        "ip/domain reputation problems",
        "likely suspicious due to the very low reputation",
        "none/bad reputation",
        "poor email reputation score",
        "sending mta's poor reputation",
        "low reputation",
        "bad reputation",
        "suspicious due to the very low reputation",  # Gmail
    )),
    (R.HOSTUNKNOWN, (
        "domain does not exist",
        "dns lookup failure: host * not found",  # DragonFly dma
        "couldn't find any host by that name",  # qmail, LINE WORKS: 550 5.4.4
        "bad host/domain syntax",
        "domain is not reachable",
        "domain must exist",
        "host or domain name not found",
        "host unknown",
        "host unreachable",
        "mail domain mentioned in email address is unknown",
        "name or service not known",
        "no such domain",
        "recipient address rejected: unknown domain name",
        "recipient domain must exist",
        "the account or domain may not exist",
        "unknown host",
        "unroutable address",
        "unrouteable address",
        "unknown domain",
        "domain not found",
        "ドメインが存在しません",
        "ドメインが存在しない",               # Japanese: 宛先のドメインが存在しないため
        "ドメインが見つかりません",
        "ホストが見つかりません",
        "couldn't find any host named",         # qmail (#5.1.2)
        "all relevant mx records point to non-existent hosts",  # Exim
        "dns.nonexistentdomain",                # Exchange: SMTPSEND.DNS.NonExistentDomain
        "we weren't able to find the recipient domain",  # Gmail 553 5.1.2
        "all host address lookups failed permanently",  # Exim
        "illegal host/domain name found",       # Oracle Messaging Server
    )),
    (R.SPEEDING, (
        "送信数が制限を超え",                 # Japanese: sending count over the limit
        "sent too many messages",            # LINE WORKS: 452 4.7.1
        "rcpt address is temporarily blocked",  # LINE WORKS: 421 4.3.2
        "please try again slower",
        "too many recipients this hour",
        "receiving mail at a rate that prevents additional messages from being delivered",
        "rate limited",
        "sending too fast",
        "receiving mail too quickly",           # Gmail 450 4.2.1
        "daily user sending quota exceeded",    # Gmail
        "daily sending quota exceeded",         # Gmail 5.4.5
        "smtp relay limit exceeded",            # Gmail
        "sender frequency limited",             # Tencent
    )),
    (R.TOOMANYCONN, (
        "宛先が多すぎ",                       # Japanese: too many recipients
        "受信者が多すぎ",
        "too many concurrent connection",    # LINE WORKS: 421 4.3.2
        "multiple destination domains per transaction",  # LINE WORKS: 451 4.3.0
        "all available ips are at maximum connection limit",
        "connection rate limit exceeded",
        "exceeds per-domain connection limit for",
        "has exceeded the max emails per hour",
        "throttling failure: daily message quota exceeded",
        "throttling failure: maximum sending rate exceeded",
        "too many connections",
        "too many concurrent smtp connections",
        "too many errors from your ip",
        "too many recipients",
        "too many smtp sessions for this host",
        "trop de connexions",                # Orange
        "reciplimit",                           # Exchange: RESOLVER.ADR.RecipLimit
        "too many connections from your",
    )),
    (R.BLOCKED, (
        "ブラックリスト",                     # Japanese: the sending IP is blacklisted
        "ip blocked by administrator",       # LINE WORKS: 550 5.7.1
        "your ip blocked from this server",  # LINE WORKS: 421 4.3.2
        "access denied (sender blacklisted)",
        "smtp error from remote mail server after initial connection",  # Exim
        "client host blocked",
        "service refused, please try later",  # Orange, La Poste
        "bad sender ip address",
        "your ip blocked",                      # LINE WORKS: 421 4.3.2 your ip blocked from this server
        "ip blocked by",                        # LINE WORKS: 550 5.7.1 ip blocked by administrator
        "banned sending ip",
        "blacklisted by",
        "blocked using ",
        "blocked - see http",
        "cannot resolve your address",
        "client host rejected",
        "confirm this mail server",
        "connection dropped",
        "connection refused",
        "connection reset by peer",
        "connection was dropped by remote host",
        "connections not accepted from ip addresses on spamhaus",
        "currently sending spam see: ",
        "esmtp not accepting connections",
        "extreme bad ip profile",
        "go away",
        "helo command rejected",
        "host network not allowed",
        "hosts with dynamic ip",
        "invalid ip for sending mail of domain",
        "is in a black list",
        "is not allowed to send mail from",
        "no access from mail server",
        "not currently accepting mail from your ip",
        "part of their network is on our block list",
        "please use the smtp server of your isp",
        "refused - see http",
        "the sending host has been listed",
        "has not passed validation",
        "rejecting open proxy",
        "sender ip address rejected",
        "server access forbidden by your ip",
        "your remotehost looks suspiciously like spammer",
        "temporarily deferred due to unexpected volume or user complaints",
        "has been rejected by",
        "too many spams from your ip",
        "too many unwanted messages have been sent from the following ip address",
        "was blocked by ",
        "we do not accept mail from dynamic ips",
        "you are not allowed to connect",
        "you are sending spam",
        "your ip address is listed",
        "your network is temporary blacklisted",
        "is blacklisted",
        "blocklisted",
        "listed in the rbl",
        "dnsbl",
        "spamhaus",
        "spamcop",
        "barracudacentral",
        "blocked by * dnsbl",
        "mail server at * is blocked",
        "ip * is blocked",
        "unusual rate of unsolicited mail originating from your ip",  # Gmail 421/550
        "ip not in whitelist for rcpt domain",  # Gmail 421 4.7.0
        "not authorized to send email directly to our servers",  # Gmail
        "connections will not be accepted from",  # Yahoo [BL21]
        "client host rejected: may not be mail exchanger",
        "dynamic/zombied/spam ips blocked",
        "error: no valid recipients from",
        "no matches to nameserver query",
        "to submit messages to this e-mail system has been rejected",
        "suspected bounce attacks",             # Tencent
        "closed connection in response to initial connection",  # Exim
        "but greeting failed",                  # qmail: connected to x but greeting failed
        "but my name was rejected",             # qmail
        "access from ip address * blocked",
        "client host * blocked using",
        "dnsbl: * is blocked on",
        "email blocked by * spamhaus",
        "is in an * rbl on",
        "message from * rejected based on blacklist",
        "messages from * temporarily deferred due to user complaints",
        "server ip * listed as abusive",
        "your access ip * has been rejected",
        "your sender's ip address is listed at",
        "weren't sent. please contact your internet service provider",  # Outlook.com
        "@*:blocked)",                        # Barracuda: (a@example.com:blocked)
    )),
    (R.POLICYVIOLATION, (
        "file attachment restricted by the administrator",  # LINE WORKS: 550 5.7.1
        "an illegal attachment on your message",
        "header error",                         # Sendmail 5.7.9
        "because the recipient is not accepting mail with",
        "by non-member to a members-only list",
        "closed mailing list",
        "denied by policy",
        "email not accepted for policy reasons",
        "local policy violation",
        "message bounced due to organizational settings",
        "message given low priority",
        "message not accepted for policy reasons",
        "messages with multiple addresses",
        "rejected for policy reasons",
        "policy violation",
        "the email address used to send your message is not subscribed to this group",
        "rejected by organization policy",
        "its content presents a potential",
        "we do not accept messages containing images or other attachments",
        "you're using a mass mailer",
        "has a policy that prohibited the mail that you sent",  # Gmail 550 5.7.1
        "does not allow external forwarding",   # Exchange Online 5.7.520
        "due to policy restrictions",
        "anti-spoofing policy",                 # Mimecast
        "banned attachment",
    )),
    (R.SECURITYERROR, (
        "account not subscribed to ses",      # Amazon SES
        "authentication credentials invalid",
        "authentication failure",
        "authentication failed",                # 535 (seed: Re:lation)
        "authentication unsuccessful",          # 535 5.7.3
        "authentication required",
        "authentication turned on in your email client",
        "executable files are not allowed in compressed files",
        "insecure mail relay",
        "unauthenticated senders not allowed",
        "user not authenticated",
        "authorization failed",
        "smtp auth",
        "username and password not accepted",   # Gmail 535 5.7.8
        "application-specific password required",  # Gmail 534/535
        "please log in with your web browser",  # Gmail 534
        "client was not authenticated",         # Exchange Online 5.7.57
        "please turn on smtp authentication",   # MessageLabs
        "resolver.rst.authrequired",            # Exchange: 5.7.1 / 5.7.133 authentication required
    )),
    (R.FAILEDSTARTTLS, (
        "starttls is required",
        "must issue a starttls command first",
        "tls required but not supported",
        "a tls connection is required",
        "encryption required",
        "tls negotiation failed",
        "tls required for rcpt domain",         # Gmail 421 4.7.0
        "requiretls",
        "tls is required, but was not offered",  # Postfix: smtp_tls_security_level=encrypt
        "tls is required, but our tls engine is unavailable",  # Postfix
        "cannot start tls",                     # Postfix: cannot start TLS: handshake failure
        "server certificate not trusted",       # Postfix: TLS verify
    )),
    (R.CONTENTERROR, (
        "line too long",                     # mobile carriers: header or line length limit
        "message header size, or recipient list, exceeds policy limit",
        "message mime complexity exceeds the policy maximum",
        "routing loop detected -- too many received: headers",
        "improperly-formatted binary content",
        "this message contains invalid mime headers",
        "mail message is malformed",            # LINE WORKS: 554 5.6.0
        "unnecessary base64 encoding",
        "too many \"received\" headers",        # Exim: ... - suspected mail loop
    )),
    (R.SYSTEMFULL, (
        "mail system full",
        "insufficient system storage",
        "insufficient system resources",
        "(not enough free space)",              # qmail: mailbox unavailable (not enough free space)
        "insufficient disk space",              # Sendmail: 452 4.4.5 insufficient disk space; try again later
    )),
    (R.NOTACCEPT, (
        "does not accept mail",
        "null mx",
        "host/domain does not accept mail",
        "no mx record found for domain",
        "no mx found for domain",            # OpenSMTPD
        "this domain does not accept",
        "mail receiving disabled",
        "no route for current request",
        "doesn't receive email according to the administrator",  # Gmail: null MX
        "an mx or srv record indicated no smtp service",  # Exim
        "no host found for existing smtp connection",  # Exim
    )),
    (R.EXPIRED, (
        "could not send message for past",   # "could not send message for past 4 hours"
        "could not find a gateway for",
        "connection timed out",
        "have been failing for a long time",    # Exim: all hosts have been failing ...
        "envelope expired",                     # OpenSMTPD
        "delivery attempts will continue to be",
        "delivery expired",
        "delivery time expired",
        "failed to deliver to domain ",
        "giving up on",
        "it has not been collected after",
        "message expired",
        "has been in the queue too long",
        "message timed out",
        "retry time not reached for any host after a long failure period",
        "unable to deliver message after multiple retries",
        "was not reachable within the allowed queue period",
        "could not be delivered for more than",
        "retry timeout exceeded",
        "could not deliver for the last",    # DragonFly Mail Agent: "... 432000 seconds. Giving up."
        "could not be delivered for * days",
        "delivery * expired",
        "cannot send message for",              # Sendmail: cannot send message for 5 days
        "queue.expired",                        # Exchange: QUEUE.Expired
        "did not accept our requests to connect",  # Gmail
        "no action is required on your part",   # Exim delay warning
        "delay reason: ",                       # Exim
        "has been frozen",                      # Exim
        "was frozen on arrival",                # Exim
        "delivery to the following recipient has been delayed",  # Gmail
        "has been delayed",
        "server did not respond",
    )),
    (R.NETWORKERROR, (
        "サーバーに接続できません",           # Japanese: could not connect to the server
        "サーバに接続できません",
        "could not connect and send the mail to",
        "dns error:",                           # Gmail: DNS Error: ... lookup of x responded with
        "dns records for the destination computer could not be found",
        "hop count exceeded",
        "host is unreachable",
        "host name lookup failure",
        "host not found, try again",
        "mail forwarding loop for ",
        "malformed name server reply",
        "malformed or unexpected name server reply",
        "maximum forwarding loop count exceeded",
        "message looping",
        "message probably in a routing loop",
        "no route to host",
        "too many hops",
        "unable to resolve route",
        "unrouteable mail domain",
        "hop count over",                     # m-FILTER seed: 550 Hop count over hop = N
        "suspected mail loop",                  # Exim: too many "received" headers
        "this message is looping",              # qmail (#5.4.6)
        "but connection died",                  # qmail
        "network error on destination",         # OpenSMTPD
        "loop detected",                        # OpenSMTPD
        "lost connection with",                 # Postfix
        "smtpsend.dns.mxloopback",              # Exchange
    )),
    (R.SYSTEMERROR, (
        "aliasing/forwarding loop broken",
        "temporary system error",               # LINE WORKS: 451 4.7.0
        "transaction failed",
        "can't create user output file",
        "could not load drd for domain",
        "internal error reading data",
        "internal server error",
        "interrupted system call",
        "it encountered an error while being processed",
        "it would create a mail loop",
        "local configuration error",
        "local error in processing",
        "loop was found in the mail exchanger",
        "loops back to myself",
        "mail system configuration error",
        "recipient deferred because there is no mdb",
        "remote server is misconfigured",
        "server configuration error",
        "service currently unavailable",
        "system config error",
        "temporary local problem",
        "timeout waiting for input",
        "insufficient permission",              # Sendmail
        "isn't in my control/locals file",      # qmail (#5.4.6)
        "temporary system problem",             # Gmail 421 4.3.0
        "internal system error",
        "delivery to file forbidden",           # Exim
        "delivery to pipe forbidden",           # Exim
        "local delivery failed",                # Exim
        "lmtp error after ",                    # Exim
        "unknown mail transport error",         # Postfix
        "mail transport unavailable",           # Postfix
        "temporary lookup failure",             # Postfix
    )),
    (R.MAILERERROR, (
        " || exit ",
        "procmail: ",
        "bin/procmail",
        "bin/maildrop",
        "command failed: ",
        "command died with status ",
        "command output:",
        "mailer error",
        "pipe to |/",
        "x-unix; ",
        "command time limit exceeded",          # Postfix pipe(8)
    )),
    (R.SYNTAXERROR, (
        "syntax error",
        "command unrecognized",
        "unrecognized command",
        "command not implemented",            # m-FILTER seed: 502
        "unsupported option",                   # m-FILTER seed: 555 5.5.4 unsupported option: auth=<>
    )),
)


Entry = tuple[str, tuple[str, ...], Reason]


def _compile(rows: tuple[tuple[Reason, tuple[str, ...]], ...]) -> tuple[Entry, ...]:
    """The rows flattened in precedence order into (first part, later parts, reason) entries:
    a plain phrase has no later parts; ``*`` phrases are found part by part, in order."""
    out: list[Entry] = []
    for reason, phrases in rows:
        for phrase in phrases:
            if not phrase.isascii():
                phrase = unicodedata.normalize("NFKC", phrase)
            first, *rest = phrase.split("*")
            out.append((first, tuple(rest), reason))
    return tuple(out)


#: Reasons whose words override "user unknown" words or status (sisimai's pre-matches):
#: "552 mailbox is over quota temporarily (#5.1.1)" is a full mailbox, not a dead one.
OVERRIDE_USERUNKNOWN = frozenset(
    {R.MAILBOXFULL, R.HASMOVED, R.NORELAYING, R.REJECTED, R.BLOCKED, R.NOTACCEPT, R.SUSPEND})

_ROWS = _compile(PHRASES)
_NDR_ROWS = _compile(NDR_SENTENCES)
_OVERRIDE_ROWS = tuple(e for e in _ROWS if e[2] in OVERRIDE_USERUNKNOWN)
#: How much of a diagnostic the phrase tables read.
MAX_TEXT = 4096
# "550-5.7.1 " / "550 5.7.1 " repeated at the start of each line of a multi-line reply, and
# bare "550-" continuation marks: noise inside a sentence once the first one is kept.
_REPLY_PREFIX = re.compile(r"\b[245]\d\d[- ][245]\.\d{1,3}\.\d{1,3}\b ?")
_CONTINUATION = re.compile(r"(?<= )[245]\d\d-(?= )")


def normalise_text(text: str) -> str:
    """Lowercase, whitespace folded, repeated reply-code prefixes of continuation lines
    dropped, NFKC-normalised when not plain ASCII; at most ``MAX_TEXT`` characters are read
    (a server's reply is short; the cost of the phrase scan stays bounded)."""
    text = " ".join(text[:MAX_TEXT].split()).lower()
    first = _REPLY_PREFIX.search(text)
    if first is not None:
        head, tail = text[: first.end()], text[first.end():]
        text = head + _CONTINUATION.sub("", _REPLY_PREFIX.sub("", tail))
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def _found(text: str, first: str, rest: tuple[str, ...]) -> bool:
    """Whether ``first`` and then each later part occur in ``text``, in order."""
    pos = text.find(first)
    if pos < 0:
        return False
    pos += len(first)
    for part in rest:
        pos = text.find(part, pos)
        if pos < 0:
            return False
        pos += len(part)
    return True


def _first_match(text: str, entries: tuple[Entry, ...]) -> Reason | None:
    """The reason of the first entry found in (normalised) ``text``; linear, no regex."""
    for first, rest, reason in entries:
        if first in text and (not rest or _found(text, first, rest)):
            return reason
    return None


#: Entries filed by key; those filed under none (any text, ASCII text): see ``_word_index``.
WordIndex = tuple[dict[str, tuple[int, ...]], tuple[int, ...], tuple[int, ...]]
#: Entries in precedence order with their index.
Table = tuple[tuple[Entry, ...], WordIndex]
_KEY = 4
#: A word's first ``_KEY`` characters: what the index files entries under.
_WORD_KEY = itemgetter(slice(0, _KEY))


def _word_index(entries: tuple[Entry, ...]) -> WordIndex:
    """Each entry filed under the first ``_KEY`` characters of the first word of its first
    part that a space precedes and that is that long. In a normalised text (whitespace
    folded to single spaces) holding the phrase, that word starts a word of the text too: a
    text is looked up by its words' first characters (``keys_of``), a few keys, and only the
    entries filed under them are tried. Entries without such a word (one word, Japanese
    without spaces) are always tried; for an ASCII text only the ASCII ones."""
    keyed: dict[str, list[int]] = {}
    always: list[int] = []
    for number, (first, _, _) in enumerate(entries):
        for word in first.split(" ")[1:]:
            if len(word) >= _KEY:
                keyed.setdefault(word[:_KEY], []).append(number)
                break
        else:  # no such word
            always.append(number)
    always_ascii = tuple(n for n in always
                         if entries[n][0].isascii() and "".join(entries[n][1]).isascii())
    return {k: tuple(numbers) for k, numbers in keyed.items()}, tuple(always), always_ascii


_PHRASE_TABLE: Table = (_ROWS, _word_index(_ROWS))
_OVERRIDE_TABLE: Table = (_OVERRIDE_ROWS, _word_index(_OVERRIDE_ROWS))


def keys_of(text: str) -> set[str]:
    """The keys a normalised text is looked up by: its words' first ``_KEY`` characters."""
    return set(map(_WORD_KEY, text.split(" ")))


def _indexed_match(text: str, keys: set[str], table: Table) -> Reason | None:
    """``_first_match`` over the table's entries, trying only those filed under one of the
    text's ``keys`` and those always tried (same answer, a fraction of the work)."""
    entries, (keyed, always, always_ascii) = table
    tried = always_ascii if text.isascii() else always
    for number in sorted(chain(tried, *(keyed[key] for key in keys & keyed.keys()))):
        first, rest, reason = entries[number]
        if first in text and (not rest or _found(text, first, rest)):
            return reason
    return None


def _phrases(text: str, keys: set[str] | None = None) -> Reason | None:
    """The first reason in ``PHRASES`` order one of whose phrases occurs in ``text``."""
    return _indexed_match(text, keys_of(text) if keys is None else keys, _PHRASE_TABLE)


def phrase_reason(diagnostic: str) -> Reason | None:
    """The first reason in ``PHRASES`` order one of whose phrases occurs in ``diagnostic``."""
    return _phrases(normalise_text(diagnostic))


def status_of(status: str) -> str:
    """The bare enhanced status ("5.1.1") from what a detector passed ("#5.1.1", " 5.1.1 ")."""
    return status.strip().lstrip("#").strip()


def _doubt(found: Reason, text: str, keys: set[str] | None = None) -> Reason:
    """A dead-address reason unless the text also names a sender-side or transient one."""
    if found in DEAD_REASONS:
        return _indexed_match(text, keys_of(text) if keys is None else keys,
                              _OVERRIDE_TABLE) or found
    return found


def _mailbox_or_filter(status: str, command: str, text: str) -> Reason:
    """"User unknown" words prove a missing mailbox only in reply to RCPT TO (or with a status
    that says so, or in the NDR's own sentence): after DATA, or with no command known, many
    servers (KDDI, docomo, appliances) use them for a recipient's filter."""
    if command == "RCPT" or status in _USERUNKNOWN_STATUS or _first_match(text, _NDR_ROWS):
        return R.USERUNKNOWN
    return R.FILTERED


def reason_for(diagnostic: str, status: str = "", reply_code: str = "", command: str = "",
               host: str = "") -> Reason:
    """The reason for one recipient's failure (see the module docstring for the order)."""
    command = command.upper()
    found = _reason(normalise_text(diagnostic), status_of(status), reply_code, command,
                    host.lower())
    # a refusal of MAIL FROM concerns the sender, never the recipient
    return R.REJECTED if command == "MAIL" and found in DEAD_REASONS else found


def _reason(text: str, status: str, reply_code: str, command: str, host: str) -> Reason:
    """Steps 1-6 of the module docstring, on normalised inputs."""
    found = provider_reason(host, text, status, reply_code)
    if found is not None:
        return _doubt(found, text)
    if status in SPECIFIC_STATUS:
        return _doubt(SPECIFIC_STATUS[status], text)
    keys = keys_of(text)
    found = _first_match(text, _NDR_ROWS) or _phrases(text, keys)
    if found is not None:
        found = _doubt(found, text, keys)
        if found is R.USERUNKNOWN:
            return _mailbox_or_filter(status, command, text)
        return found
    failed = reply_code[:1] == "5" or status[:1] == "5"
    if failed and command in COMMAND_REASON:
        return COMMAND_REASON[command]
    if status in GENERIC_STATUS:
        return GENERIC_STATUS[status]
    if reply_code in REPLY_CODE:
        return REPLY_CODE[reply_code]
    return Reason.ONHOLD if text else Reason.UNDEFINED
