"""The detectors, in the order the engine tries them: first hit wins.

Specific formats come first, the generic decoders (RFC 3464, ARF, RFC 3834) after them, so a
provider whose DSN needs special reading is read by its own detector. Adding a format is one
module with ``NAME`` and ``detect`` and one line here.
"""
from __future__ import annotations

from . import apachejames, courier, dragonfly, exchange2003, exchange2007, exim, fml  # MTA formats
from . import imailserver, mailfoundry, mailmarshal, mcafee, messagingserver  # MTA formats
from . import opensmtpd, postfix, qmail, sendmail, surfcontrol, trendmicro, x1, x3  # MTA formats
from . import x6  # MTA formats
from . import amazonses, amazonworkmail, gmail, gmx, googlegroups  # providers
from . import messagelabs, mimecast, office365, outlook, sendgrid, verizon, yahoo, zoho  # providers
from . import biglobe, domino, ezweb, kddi, mfilter, notes, x2  # Japanese formats
from . import arf, autoreply, generic, receipt, rfc3464  # the generic decoders (keep last)
from .base import Detect, Detection, Finding

#: (name, detect) in dispatch order. Filled by the modules below as they land.
DETECTORS: tuple[tuple[str, Detect], ...] = (
    (mfilter.NAME, mfilter.detect),
    (ezweb.NAME, ezweb.detect),
    (kddi.NAME, kddi.detect),
    (biglobe.NAME, biglobe.detect),
    (notes.NAME, notes.detect),
    (domino.NAME, domino.detect),
    (x2.NAME, x2.detect),
    (amazonses.NAME, amazonses.detect),
    (amazonworkmail.NAME, amazonworkmail.detect),
    (googlegroups.NAME, googlegroups.detect),
    (gmail.NAME, gmail.detect),
    (yahoo.NAME, yahoo.detect),
    (zoho.NAME, zoho.detect),
    (gmx.NAME, gmx.detect),
    (verizon.NAME, verizon.detect),
    (mimecast.NAME, mimecast.detect),
    (messagelabs.NAME, messagelabs.detect),
    (office365.NAME, office365.detect),
    (outlook.NAME, outlook.detect),
    (sendgrid.NAME, sendgrid.detect),
    (exchange2003.NAME, exchange2003.detect),
    (exchange2007.NAME, exchange2007.detect),
    (imailserver.NAME, imailserver.detect),
    (trendmicro.NAME, trendmicro.detect),
    (mailmarshal.NAME, mailmarshal.detect),
    (mailfoundry.NAME, mailfoundry.detect),
    (x1.NAME, x1.detect),
    (x3.NAME, x3.detect),
    (x6.NAME, x6.detect),
    (fml.NAME, fml.detect),
    (postfix.NAME, postfix.detect),
    (sendmail.NAME, sendmail.detect),
    (exim.NAME, exim.detect),
    (dragonfly.NAME, dragonfly.detect),
    (qmail.NAME, qmail.detect),
    (opensmtpd.NAME, opensmtpd.detect),
    (courier.NAME, courier.detect),
    (messagingserver.NAME, messagingserver.detect),
    (mcafee.NAME, mcafee.detect),
    (surfcontrol.NAME, surfcontrol.detect),
    (apachejames.NAME, apachejames.detect),
    # The generic decoders: keep them last, in this order (specific formats go above).
    (receipt.NAME, receipt.detect),
    (arf.NAME, arf.detect),
    (rfc3464.NAME, rfc3464.detect),
    (autoreply.NAME, autoreply.detect),
    (generic.NAME, generic.detect),
)

__all__ = ["DETECTORS", "Detect", "Detection", "Finding"]
