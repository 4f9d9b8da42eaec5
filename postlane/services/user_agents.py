"""A User-Agent header read as Postmark's Open and Click records describe the reader:
Client and OS (Name, Company, Family) and Platform (Desktop, Mobile, WebMail, Unknown).

The parsing is ua-parser's (the uap-core rules, kept up to date by that project and
shipped in ua-parser-builtins); the companies are a short table of the families it
names, since the rules carry none.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ua_parser import parse

UNKNOWN = "Unknown"

_COMPANIES = {
    "Chrome": "Google", "Chrome Mobile": "Google", "Chrome Mobile iOS": "Google",
    "Chromium": "Google", "Android": "Google", "Chrome OS": "Google",
    "GmailImageProxy": "Google", "Firefox": "Mozilla", "Firefox Mobile": "Mozilla",
    "Firefox iOS": "Mozilla", "Thunderbird": "Mozilla", "Safari": "Apple",
    "Mobile Safari": "Apple", "Mac OS X": "Apple Computer, Inc.",
    "iOS": "Apple Computer, Inc.", "Apple Mail": "Apple", "Edge": "Microsoft",
    "Edge Mobile": "Microsoft", "IE": "Microsoft", "Outlook": "Microsoft",
    "Windows": "Microsoft Corporation.", "Opera": "Opera Software ASA.",
    "Yandex Browser": "Yandex", "Samsung Internet": "Samsung",
}

#: Image proxies of webmail services fetch the pixel for their users.
_WEBMAIL = ("GoogleImageProxy", "ggpht.com", "YahooMailProxy", "Yahoo! Slurp")
_MOBILE_OS = frozenset({"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS"})


@dataclass(frozen=True)
class Reader:
    client: dict[str, str]
    os: dict[str, str]
    platform: str


def _described(family: str, *versions: str | None) -> dict[str, str]:
    if not family or family == "Other":
        return {"Name": UNKNOWN, "Company": UNKNOWN, "Family": UNKNOWN}
    version = ".".join(v for v in versions if v)
    return {"Name": f"{family} {version}".strip(), "Company": _COMPANIES.get(family, UNKNOWN),
            "Family": family}


@functools.lru_cache(maxsize=1024)
def read(user_agent: str) -> Reader:
    """What ``user_agent`` says about the reader (Unknown where it says nothing)."""
    if any(mark in user_agent for mark in _WEBMAIL):
        unknown = _described("")
        return Reader(unknown, unknown, "WebMail")
    result = parse(user_agent[:2000])
    agent, system = result.user_agent, result.os
    client = _described(agent.family, agent.major, agent.minor, agent.patch) if agent \
        else _described("")
    os = _described(system.family, system.major, system.minor) if system else _described("")
    if system is None and agent is None:
        platform = UNKNOWN
    elif system is not None and system.family in _MOBILE_OS:
        platform = "Mobile"
    elif system is not None and system.family != "Other":
        platform = "Desktop"
    else:
        platform = UNKNOWN
    return Reader(client, os, platform)
