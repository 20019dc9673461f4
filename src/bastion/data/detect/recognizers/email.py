"""E-mail addresses: a practical RFC 5322 ``local@domain`` with a real-looking domain."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bastion.data.detect.base import Finding

# The local part starts where no local-part character precedes it, so each run of such
# characters is tried once (linear time); ``{1,64}`` is RFC 5321's limit.
_EMAIL = re.compile(
    r"(?<![\w.%+'-])([\w.%+'-]{1,64})@"
    r"((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.(?=[A-Za-z0-9])){1,8}+"
    r"[A-Za-z][A-Za-z0-9-]{1,62})"
    r"(?![\w@-]|\.[A-Za-z0-9])"
)
# File names that look like addresses (``logo@2x.png``).
_FILE_SUFFIXES = frozenset({
    "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "css", "js", "json", "yaml",
    "yml", "txt", "log", "lock", "map",
})  # fmt: skip

# Role mailboxes (RFC 2142 and common practice) reach a function, not a person: they are
# reported below the default threshold.
_ROLE_ACCOUNTS = frozenset({
    "abuse", "accounts", "admin", "administrator", "billing", "careers", "contact",
    "customerservice", "customer-service", "donotreply", "do-not-reply", "feedback", "hello",
    "help", "helpdesk", "hostmaster", "hr", "info", "jobs", "legal", "mailer-daemon",
    "marketing", "media", "news", "newsletter", "no-reply", "noc", "noreply", "notifications",
    "office", "orders", "postmaster", "press", "privacy", "root", "sales", "security",
    "service", "support", "team", "webmaster",
})  # fmt: skip


class EmailRecognizer:
    """EMAIL_ADDRESS."""

    name = "email"
    entity_types = frozenset({"EMAIL_ADDRESS"})
    # Every value found matches this (Rust regex dialect): scanners skip other cells.
    prefilter = "@"

    def find(self, text: str) -> Iterator[Finding]:
        if "@" not in text:
            return
        for m in _EMAIL.finditer(text):
            local, domain = m.group(1), m.group(2)
            start = m.start(1)
            # Quotes and dots may open the run but not the address.
            stripped = local.lstrip(".'")
            start += len(local) - len(stripped)
            if not stripped or stripped.endswith(".") or ".." in stripped:
                continue
            tld = domain.rsplit(".", 1)[1]
            if tld.endswith("-") or not (tld.isalpha() or tld.startswith("xn--")):
                continue
            if tld.lower() in _FILE_SUFFIXES:
                score = 0.3
            elif stripped.lower() in _ROLE_ACCOUNTS:
                score = 0.45
            else:
                score = 0.95
            yield Finding(start, m.end(2), "EMAIL_ADDRESS", score, self.name)


RECOGNIZERS = (EmailRecognizer(),)
