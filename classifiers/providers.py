"""Provider rows: what a big mailbox provider's own wording or code means.

A row is (host suffixes, code, phrase, reason). It applies when the remote host (or, when the
NDR names none, the recipient's domain) ends with one of the suffixes, ``code`` equals the
enhanced status or the reply code ("" = any), and ``phrase`` occurs in the lowercased,
whitespace-folded diagnostic ("" = any; a row needs a code or a phrase). The longest listed
suffix of the host picks the provider; its rows are read in order, the first match wins.
They come before the generic tables because a provider's stock wording or code means
something precise (GoDaddy's IB607 under a 5.1.1 is a rate limit, Yahoo's "[TSS04]" defers
the sender, Spectrum's AUP#In-1310 is too many connections); a dead-address reason from a
row still yields to sender-side words (``reasons.OVERRIDE_USERUNKNOWN``). Comments name the
provider's error page or code.
"""
from __future__ import annotations

from .model import Reason

R = Reason

GOOGLE = ("google.com", "gmail.com", "googlemail.com")
YAHOO = ("yahoo.com", "yahoodns.net", "yahoo.co.uk", "yahoo.fr", "ymail.com", "rocketmail.com")
YAHOO_JP = ("yahoo.co.jp",)
MICROSOFT = ("outlook.com", "hotmail.com", "live.com", "msn.com", "protection.outlook.com",
             "hotmail.co.jp", "outlook.jp", "office365.us", "exchangelabs.com")
AOL = ("aol.com", "aim.com", "aol.jp")
APPLE = ("icloud.com", "me.com", "mac.com", "apple.com")
ZOHO = ("zoho.com", "zohomail.com", "zoho.eu", "zoho.jp")
YANDEX = ("yandex.ru", "yandex.net", "yandex.com", "ya.ru")
MAILRU = ("mail.ru", "list.ru", "bk.ru", "inbox.ru")
GMX = ("gmx.net", "gmx.de", "gmx.com", "web.de", "1and1.com", "ionos.com", "kundenserver.de")
MIMECAST = ("mimecast.com", "mimecast.co.za", "mimecast-offshore.com")
CLOUDFLARE = ("cloudflare.net", "mx.cloudflare.net")
TENCENT = ("qq.com", "foxmail.com", "exmail.qq.com")
COX = ("cox.net", "cloudfilter.net")  # Cox's MX hosts are *.mx.a.cloudfilter.net
SPECTRUM = ("charter.net", "rr.com", "spectrum.net", "twc.com")
GODADDY = ("secureserver.net",)
FACEBOOK = ("facebook.com", "fb.com")
ORANGE = ("orange.fr", "wanadoo.fr", "francetelecom.fr", "orange.com", "laposte.net")
KDDI = ("ezweb.ne.jp", "au.com", "kddi.com", "auone-net.jp", "biz.ezweb.ne.jp")
DOCOMO = ("docomo.ne.jp", "mopera.net", "dwmail.jp")
SOFTBANK = ("softbank.ne.jp", "vodafone.ne.jp", "disney.ne.jp", "i.softbank.jp")
OCN = ("ocn.ne.jp", "ocn.ad.jp")
LINEWORKS = ("worksmobile.com",)
IUA = ("i.ua", "email.ua", "ua.fm")

#: (host suffixes, code prefix, phrase, reason), first match wins.
PROVIDER_ROWS: tuple[tuple[tuple[str, ...], str, str, Reason], ...] = (
    # Google: support.google.com/a/answer/3726730 (SMTP error reference)
    (GOOGLE, "", "likely unsolicited mail", R.SPAMDETECTED),
    (GOOGLE, "", "very low reputation", R.BADREPUTATION),
    (GOOGLE, "", "unusual rate of unsolicited mail", R.BLOCKED),
    (GOOGLE, "", "has a policy that prohibited the mail", R.POLICYVIOLATION),
    (GOOGLE, "", "not authorized to send email directly to our servers", R.BLOCKED),
    (GOOGLE, "", "does not have a ptr record", R.REQUIREPTR),
    (GOOGLE, "", "receiving mail at a rate that prevents", R.SPEEDING),
    (GOOGLE, "", "daily user sending quota exceeded", R.SPEEDING),
    (GOOGLE, "5.7.0", "tls", R.FAILEDSTARTTLS),
    (GOOGLE, "", "rate limited because it is unauthenticated", R.AUTHFAILURE),  # 4.7.26
    (GOOGLE, "", "spf record of the sender's domain has a syntax error", R.AUTHFAILURE),  # 4.7.24
    (GOOGLE, "", "timeout - closing connection", R.EXPIRED),       # 451 4.4.2
    # Yahoo: senders.yahooinc.com/smtp-error-codes
    (YAHOO, "", "[ts01]", R.BLOCKED),
    (YAHOO, "", "[ts02]", R.BLOCKED),
    (YAHOO, "", "[ts03]", R.BLOCKED),
    (YAHOO, "", "[tss04]", R.REJECTED),             # deferred: volume or complaints, sender-side
    (YAHOO, "", "[tss09]", R.REJECTED),
    (YAHOO, "", "[tss11]", R.BLOCKED),          # excessive unknown recipients: open relay?
    (YAHOO, "", "unresolvable rfc.5321 from domain", R.REJECTED),
    (YAHOO, "", "[bl21]", R.BLOCKED),
    (YAHOO, "", "[bl23]", R.BLOCKED),
    (YAHOO, "", "user doesn't have a", R.USERUNKNOWN),
    (YAHOO, "", "mailbox not found", R.USERUNKNOWN),
    (YAHOO, "", "not accepting messages from this sender", R.FILTERED),
    # Microsoft: learn.microsoft.com "Email non-delivery reports and SMTP errors"
    (MICROSOFT, "5.5.0", "mailbox unavailable", R.USERUNKNOWN),
    (MICROSOFT, "", "part of their network is on our block list", R.BLOCKED),
    (MICROSOFT, "", "(s3140)", R.BLOCKED),
    (MICROSOFT, "", "(s3150)", R.BLOCKED),
    (MICROSOFT, "", "banned sending ip", R.BLOCKED),
    (MICROSOFT, "5.7.708", "", R.BLOCKED),          # traffic not accepted from this IP
    (MICROSOFT, "5.7.606", "", R.BLOCKED),          # banned sending IP
    (MICROSOFT, "5.7.511", "", R.BLOCKED),
    (MICROSOFT, "5.7.750", "", R.BLOCKED),          # unregistered domain (tenant blocked)
    (MICROSOFT, "5.7.705", "", R.BLOCKED),
    (MICROSOFT, "4.7.650", "", R.BADREPUTATION),
    (MICROSOFT, "5.7.509", "", R.AUTHFAILURE),      # DMARC reject
    (MICROSOFT, "5.7.515", "", R.AUTHFAILURE),
    (MICROSOFT, "5.4.1", "relay access denied", R.NORELAYING),  # domain not hosted here
    (MICROSOFT, "5.4.1", "access denied", R.USERUNKNOWN),   # directory-based edge blocking
    (MICROSOFT, "5.1.10", "", R.USERUNKNOWN),       # recipient not found by SMTP address lookup
    (MICROSOFT, "5.2.2", "", R.MAILBOXFULL),
    # AOL (Verizon Media, shares Yahoo's codes)
    (AOL, "", "[ts03]", R.BLOCKED),
    (AOL, "", "[tss04]", R.REJECTED),
    (AOL, "", "aol will not accept delivery of this message", R.BLOCKED),
    (AOL, "", "dynamic ip", R.BLOCKED),
    # Apple iCloud: support.apple.com/HT204137 (postmaster)
    (APPLE, "", "mailbox is disabled", R.SUSPEND),
    # Zoho
    (ZOHO, "", "unusual sending activity", R.BLOCKED),
    (ZOHO, "", "mail rejected by recipient's policy", R.FILTERED),
    (ZOHO, "", "relaying disallowed", R.NORELAYING),     # "invalid domain": not hosted at Zoho
    # Yandex
    (YANDEX, "", "policy rejection on the target address", R.FILTERED),
    (YANDEX, "", "message rejected under suspicion of spam", R.SPAMDETECTED),
    (YANDEX, "", "this user doesn't have a yandex", R.USERUNKNOWN),
    (YANDEX, "", "no such user", R.USERUNKNOWN),          # said at RCPT, never a filter
    # mail.ru: help.mail.ru/mail/postmaster/errors
    (MAILRU, "", "account is disabled", R.SUSPEND),
    (MAILRU, "", "is unavailable: user not found", R.USERUNKNOWN),
    (MAILRU, "", "spam message rejected", R.SPAMDETECTED),
    (MAILRU, "", "message rejected. please visit http://help.mail.ru", R.BLOCKED),
    # GMX / WEB.DE / 1&1 (IONOS)
    (GMX, "", "bad dns ptr resource record", R.REQUIREPTR),
    (GMX, "", "invalid dns ptr resource record", R.REQUIREPTR),
    (GMX, "", "mailbox unavailable", R.USERUNKNOWN),
    (GMX, "", "mailbox quota exceeded", R.MAILBOXFULL),
    # Mimecast: community.mimecast.com "Mimecast SMTP error codes"
    (MIMECAST, "", "invalid recipient", R.USERUNKNOWN),
    (MIMECAST, "", "host network not allowed", R.POLICYVIOLATION),  # the recipient's IP policy
    (MIMECAST, "", "envelope blocked", R.FILTERED),
    (MIMECAST, "", "manually blocked senders", R.FILTERED),
    (MIMECAST, "", "greylisting", R.BLOCKED),
    (MIMECAST, "", "ip reputation", R.BADREPUTATION),
    # Cloudflare Email Routing
    (CLOUDFLARE, "", "address does not exist", R.USERUNKNOWN),
    (CLOUDFLARE, "", "spf", R.AUTHFAILURE),
    (CLOUDFLARE, "", "dmarc", R.AUTHFAILURE),
    # Tencent QQ mail / Exmail: service.mail.qq.com error codes
    (TENCENT, "", "mailbox not found", R.USERUNKNOWN),
    (TENCENT, "", "ip frequency limited", R.SPEEDING),
    (TENCENT, "", "domain frequency limited", R.SPEEDING),
    (TENCENT, "", "connection frequency limited", R.TOOMANYCONN),
    (TENCENT, "", "mail content denied", R.SPAMDETECTED),
    (TENCENT, "", "rejected by recipient", R.FILTERED),
    (TENCENT, "", "suspected spam", R.SPAMDETECTED),
    (TENCENT, "", "mailbox unavailable or access denied", R.SUSPEND),
    # Cox: cox.com "Email error codes" (CXBL, CXDNS, IPBL ...)
    (COX, "", "cxbl", R.BLOCKED),
    (COX, "", "cdrbl", R.BLOCKED),
    (COX, "", "ipbl", R.BLOCKED),
    (COX, "", "cxdns", R.REQUIREPTR),
    (COX, "", "cxmxrt", R.SPEEDING),
    (COX, "", "cxsnd", R.REJECTED),
    (COX, "", "cxcnct", R.TOOMANYCONN),             # connection limit exceeded
    (COX, "", "cxmj", R.SPAMDETECTED),
    (COX, "", "rrbl", R.BLOCKED),                   # IP on the Return Path block list
    (COX, "", "urlbl", R.SPAMDETECTED),             # a URL in the message is blocked
    # Spectrum / Charter / Time Warner: AUP#xxxx codes
    (SPECTRUM, "", "aup#in-1310", R.TOOMANYCONN),   # too many connections from the IP
    (SPECTRUM, "", "aup#in-1000", R.BLOCKED),
    (SPECTRUM, "", "aup#bl", R.BLOCKED),
    (SPECTRUM, "", "aup#dns", R.REQUIREPTR),
    (SPECTRUM, "", "aup#rl", R.SPEEDING),
    # GoDaddy (secureserver.net)
    (GODADDY, "", "ib607", R.SPEEDING),             # sent to too many recipients this hour
    (GODADDY, "", "too many recipients this hour", R.SPEEDING),
    (GODADDY, "", "ipblk", R.BLOCKED),
    (GODADDY, "", "ib10", R.BLOCKED),               # IB103-IB108: IP on CSI/SBL/XBL/PBL lists
    (GODADDY, "", "ib11", R.BLOCKED),               # IB110-IB115: IP blocked for spam/bad rcpts
    (GODADDY, "", "ib212", R.SPAMDETECTED),         # content judged to be spam
    (GODADDY, "", "ib401", R.SECURITYERROR),        # authentication not allowed
    (GODADDY, "", "ib510", R.TOOMANYCONN),          # too many recipients
    (GODADDY, "", "ib705", R.VIRUSDETECTED),        # virus infected message rejected
    (GODADDY, "", "isp quota exceeded", R.MAILBOXFULL),
    # Facebook: postmaster.facebook.com/response_codes (RCP/MSG/POL/DNS/CON codes)
    (FACEBOOK, "", "rcp-p1", R.USERUNKNOWN),        # recipient address does not exist
    (FACEBOOK, "", "rcp-p2", R.FILTERED),           # recipient preferences prevent delivery
    (FACEBOOK, "", "rcp-p3", R.FILTERED),           # recipient privacy settings blocked it
    (FACEBOOK, "", "rcp-t1", R.SUSPEND),            # recipient temporarily unavailable
    (FACEBOOK, "", "msg-p1", R.MESGTOOBIG),
    (FACEBOOK, "", "msg-p2", R.CONTENTERROR),       # attachment type not accepted
    (FACEBOOK, "", "msg-p3", R.CONTENTERROR),       # duplicated once-only header field
    (FACEBOOK, "", "msg-t1", R.TOOMANYCONN),        # too many recipients on the message
    (FACEBOOK, "", "pol-p", R.BLOCKED),             # policy: PBL, IP no longer accepted ...
    (FACEBOOK, "", "pol-t", R.BLOCKED),             # not accepting mail from this server now
    (FACEBOOK, "", "dns-p", R.REJECTED),            # MAIL FROM domain or reverse DNS missing
    (FACEBOOK, "", "dns-t", R.REJECTED),
    (FACEBOOK, "", "con-t1", R.SYSTEMERROR),        # their server has too many connections
    (FACEBOOK, "", "con-t", R.TOOMANYCONN),         # yours has too many connections open
    # Orange / France Telecom (wanadoo): codes after the French/English text
    (ORANGE, "", "adresse d au moins un destinataire invalide", R.USERUNKNOWN),
    (ORANGE, "", "_416", R.USERUNKNOWN),            # OFR_416 invalid recipient
    (ORANGE, "", "_418", R.USERUNKNOWN),
    (ORANGE, "", "_417", R.MAILBOXFULL),
    (ORANGE, "", "_420", R.SUSPEND),
    (ORANGE, "", "_630", R.POLICYVIOLATION),        # LPN000_630
    (ORANGE, "", "_506", R.SPAMDETECTED),           # OFR_506 mail rejete (spam)
    (ORANGE, "", "_102", R.BLOCKED),                # source IP blocked for spam incidents
    (ORANGE, "", "_103", R.BLOCKED),
    (ORANGE, "", "_107", R.BLOCKED),
    (ORANGE, "", "_108", R.BLOCKED),
    (ORANGE, "", "_510", R.BLOCKED),
    (ORANGE, "", "_511", R.BLOCKED),
    (ORANGE, "", "_105", R.BLOCKED),
    (ORANGE, "", "_109", R.BLOCKED),
    (ORANGE, "", "_104", R.TOOMANYCONN),            # trop de connexions
    (ORANGE, "", "_403", R.REJECTED),               # emetteur invalide
    (ORANGE, "", "_405", R.REJECTED),               # domaine emetteur invalide
    (ORANGE, "", "_415", R.REJECTED),
    (ORANGE, "", "_421", R.REJECTED),
    (ORANGE, "", "_513", R.SPAMDETECTED),
    (ORANGE, "", "_514", R.MESGTOOBIG),             # taille limite du message atteinte
    (ORANGE, "", "service refused, please try later", R.BLOCKED),
    (ORANGE, "", "boite du destinataire pleine", R.MAILBOXFULL),
    (ORANGE, "", "emetteur invalide", R.REJECTED),
    # KDDI / au (ezweb): "550 : User unknown" (no address) is the user's reception filter;
    # "550 <a@ezweb.ne.jp>: User unknown" is a missing mailbox
    (KDDI, "", "550 : user unknown", R.FILTERED),
    (KDDI, "", ">: user unknown", R.USERUNKNOWN),
    (KDDI, "", "requested action not taken", R.FILTERED),
    # NTT docomo: "550 Unknown user" at RCPT is a missing mailbox; the same words after DATA
    # are the user's reception settings (受信拒否設定): the shared RCPT-only rule decides those
    (DOCOMO, "5.1.1", "", R.USERUNKNOWN),
    (DOCOMO, "5.2.0", "", R.FILTERED),
    (DOCOMO, "", "too much mail data", R.MAILBOXFULL),
    (DOCOMO, "", "too many recipients", R.TOOMANYCONN),
    (DOCOMO, "", "bad sequence of commands", R.SYNTAXERROR),
    (DOCOMO, "", "command parameter not implemented", R.SYNTAXERROR),
    # SoftBank
    (SOFTBANK, "", "user unknown", R.USERUNKNOWN),
    # OCN: "Recipient address rejected: Access denied" is the user's reception settings
    (OCN, "", "recipient address rejected: access denied", R.FILTERED),
    # Yahoo! JAPAN: the account does not exist, whichever command it answered
    (YAHOO_JP, "", "this user doesn't have a yahoo.co.jp account", R.USERUNKNOWN),
    # LINE WORKS (help: SMTP error codes): 553 5.1.2 / 5.7.2 name the sender, not the recipient
    (LINEWORKS, "", "the sender address is", R.REJECTED),
    (LINEWORKS, "", "the recipient address is not a valid", R.USERUNKNOWN),
    # i.ua (Ukraine): the reply links mail.i.ua/err/N/, one reason per N
    (IUA, "", "/err/1/", R.NORELAYING),             # SMTP as a mail gate is forbidden
    (IUA, "", "/err/2/", R.USERUNKNOWN),            # user is not found
    (IUA, "", "/err/3/", R.SUSPEND),                # mailbox unused for months: frozen
    (IUA, "", "/err/4/", R.MAILBOXFULL),
    (IUA, "", "/err/5/", R.SPEEDING),               # sending limit exceeded
    (IUA, "", "/err/6/", R.NORELAYING),             # use your provider's SMTP server
    (IUA, "", "/err/7/", R.BLOCKED),                # bad HELO/EHLO argument
    (IUA, "", "/err/8/", R.REJECTED),               # the sender address could not be checked
    (IUA, "", "/err/9/", R.BLOCKED),                # the sender's IP is blacklisted
    (IUA, "", "/err/10/", R.FILTERED),              # not in the recipient's allowed list
)


Row = tuple[str, str, Reason]


def _by_suffix(rows: tuple[tuple[tuple[str, ...], str, str, Reason], ...]
               ) -> dict[str, tuple[Row, ...]]:
    """The rows indexed by host suffix, table order kept (a lookup, not a scan per message)."""
    index: dict[str, list[Row]] = {}
    for suffixes, code, phrase, reason in rows:
        for suffix in suffixes:
            index.setdefault(suffix, []).append((code, phrase, reason))
    return {suffix: tuple(found) for suffix, found in index.items()}


_INDEX = _by_suffix(PROVIDER_ROWS)


def rows_for(host: str) -> tuple[Row, ...]:
    """The (code, phrase, reason) rows of the longest table suffix of ``host``, else ()."""
    labels = host.lower().strip(".").split(".")
    for start in range(len(labels) - 1):
        found = _INDEX.get(".".join(labels[start:]))
        if found:
            return found
    return ()


def provider_reason(host: str, text: str, status: str = "", reply_code: str = "") -> Reason | None:
    """The reason a provider row gives for this host and lowercased text, else None."""
    for code, phrase, reason in rows_for(host):
        if code and code not in (status, reply_code):
            continue
        if phrase and phrase not in text:
            continue
        return reason
    return None
