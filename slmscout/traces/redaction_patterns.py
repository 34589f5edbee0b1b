"""The detectors behind ``slmscout.traces.redaction``: each finds the values of one kind of PII or secret in a text.

A detector returns ``Finding`` records (where, what kind, and the normalized value that decides "the same value");
it never edits the text. The rules each detector follows are listed in the docstring of ``redaction``.

Speed: every detector first asks a cheap question of the text (is there an ``@``, a ``://``, a known key prefix in
the lowercased text, a run of digits) and runs its exact patterns and libraries only where the answer is yes. The
lowercased text and the runs of digits are computed once per text, in ``Scan``, and shared.
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from re import Pattern
from typing import Protocol

import phonenumbers
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

# Kinds, most specific first: when two findings overlap, the one of the earlier kind wins.
KINDS = ("private-key", "url-credentials", "jwt", "api-key", "card", "email", "secret", "ip", "phone")
PRIORITY = {kind: rank for rank, kind in enumerate(KINDS)}

# What a placeholder looks like; findings never overlap one (that is what makes redaction idempotent).
PLACEHOLDER = re.compile(r"<(?:EMAIL|PHONE|CARD|IP|URL_CREDENTIALS|API_KEY|JWT|PRIVATE_KEY|SECRET)_\d+>")

TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
HEX = frozenset("0123456789abcdefABCDEF")
_NUMERIC_RUN = re.compile(r"\d[\d \t.()/-]{5,}\d")


@dataclass(frozen=True, slots=True)
class Finding:
    """One value to replace: ``text[start:end]``, its kind, and ``key``, the normalized value."""

    start: int
    end: int
    kind: str
    key: str


class Scan:
    """One text under scan, with what several detectors need computed once: its lowercase form, its digit runs,
    and the answers to gate questions (is this substring or pattern in the lowercased text)."""

    __slots__ = ("_gates", "_numeric_runs", "lower", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.lower = text.lower()  # every scan asks gate questions of it
        self._numeric_runs: list[tuple[int, int]] | None = None
        self._gates: dict[Pattern[str], bool] = {}

    @property
    def numeric_runs(self) -> list[tuple[int, int]]:
        """Spans of 7+ characters of digits and ``.-/() `` separators, starting and ending with a digit."""
        if self._numeric_runs is None:
            self._numeric_runs = [m.span() for m in _NUMERIC_RUN.finditer(self.text)]
        return self._numeric_runs

    def gate(self, gate: str | Pattern[str]) -> bool:
        """Whether the lowercased text holds ``gate`` (a substring, or a pattern to search for: each pattern is
        searched once per text, a substring is looked for each time, which costs less than remembering it)."""
        if isinstance(gate, str):
            return gate in self.lower
        answer = self._gates.get(gate)
        if answer is None:
            answer = self._gates[gate] = gate.search(self.lower) is not None
        return answer


class Detector(Protocol):
    """Finds the values of one kind (or one family of kinds) in a text."""

    name: str

    def find(self, scan: Scan) -> list[Finding]: ...


def after_escape(text: str, start: int) -> bool:
    """True when ``start`` follows an escape sequence (``\\n``, ``\\t``, ``\\u00e9``...) in JSON or code text,
    at any depth of escaping (``\\\\n`` in JSON inside JSON)."""
    if start >= 2 and text[start - 2] == "\\" and text[start - 1] in "nrtbf":
        return True
    return (
        start >= 6
        and text[start - 6] == "\\"
        and text[start - 5] == "u"
        and all(c in HEX for c in text[start - 4 : start])
    )


def clean_start(text: str, start: int, word: frozenset[str] = WORD_CHARS) -> bool:
    """A value may start here: at the start of the text, after a non-word character, or right after an escape."""
    return start == 0 or text[start - 1] not in word or after_escape(text, start)


def clean_end(text: str, end: int, word: frozenset[str] = WORD_CHARS) -> bool:
    return end >= len(text) or text[end] not in word


def extend_token(text: str, end: int) -> int:
    """Grow a key match to the end of its run of token characters (a key longer than its pattern knows)."""
    size = len(text)
    while end < size and text[end] in TOKEN_CHARS:
        end += 1
    return end


def shannon_entropy(value: str) -> float:
    counts: dict[str, int] = {}
    for char in value:
        counts[char] = counts.get(char, 0) + 1
    size = len(value)
    return -sum(n / size * math.log2(n / size) for n in counts.values())


def looks_random(value: str, minimum: int = 8) -> bool:
    """Secret-shaped: long enough, several character classes, and enough entropy for its length."""
    if len(value) < minimum:
        return False
    if value.isalpha():
        transitions = sum(1 for a, b in itertools.pairwise(value) if a.islower() != b.islower())
        return len(value) >= 16 and transitions * 4 >= len(value)
    classes = (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
        + any(not c.isalnum() for c in value)
    )
    entropy = shannon_entropy(value)
    if classes >= 3:
        return entropy >= 2.5
    if classes == 2:
        return len(value) >= 12 and entropy >= 3.0
    return len(value) >= 20 and entropy >= 3.5


# ---------------------------------------------------------------------------------------------------------------
# Private key blocks


class PrivateKeyBlocks:
    """Whole ``-----BEGIN ... PRIVATE KEY-----`` blocks, to the matching END line (or the end of the key body)."""

    name = "private-key"
    _block = re.compile(
        r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY((?: BLOCK)?)-----"
        r"(?:.*?-----END \1PRIVATE KEY\2-----|(?:[A-Za-z0-9+/=:,\- \t\r\n]|\\[nrt])*)",
        re.DOTALL,
    )

    def find(self, scan: Scan) -> list[Finding]:
        if "PRIVATE KEY" not in scan.text:
            return []
        text = scan.text
        found = []
        for match in self._block.finditer(text):
            end = match.end()
            if not text.endswith("-----", 0, end):  # cut off without END: stop at the key body's end
                while end > match.start() and (text[end - 1] in " \t\r\n" or text.endswith(("\\n", "\\r"), 0, end)):
                    end -= 2 if text[end - 1] in "nr" else 1
            key = re.sub(r"\s|\\+[nrt]?", "", text[match.start() : end])
            found.append(Finding(match.start(), end, "private-key", key))
        return found


# ---------------------------------------------------------------------------------------------------------------
# URLs with credentials


class UrlCredentials:
    """``scheme://user:password@host``: the ``user:password`` part (a lone user name only when it looks like a key)."""

    name = "url-credentials"
    _url = re.compile(r"://([^\s/?#@\"'<>\\`]*)@(?=[\w\[])")

    def find(self, scan: Scan) -> list[Finding]:
        text = scan.text
        if "://" not in text or "@" not in text:
            return []
        found = []
        for match in self._url.finditer(text):
            userinfo = match.group(1)
            if not userinfo or "<" in userinfo:
                continue
            user, colon, password = userinfo.partition(":")
            if colon and (not password or password.startswith("$")):
                continue
            if not colon and (user.startswith("$") or not looks_random(user, minimum=16)):
                continue
            found.append(Finding(match.start(1), match.end(1), "url-credentials", userinfo))
        return found


# ---------------------------------------------------------------------------------------------------------------
# JSON Web Tokens


class JsonWebTokens:
    """``header.payload.signature`` whose first two parts decode to JSON (detect-secrets' own validity check)."""

    name = "jwt"
    _jwt = re.compile(r"eyJ[A-Za-z0-9_-]{5,}={0,2}\.[A-Za-z0-9_-]{5,}={0,2}(?:\.[A-Za-z0-9_-]+={0,2}){0,3}")

    def find(self, scan: Scan) -> list[Finding]:
        text = scan.text
        if "eyJ" not in text:
            return []
        found = []
        for match in self._jwt.finditer(text):
            start, end = match.span()
            if clean_start(text, start) and clean_end(text, end) and JwtTokenDetector.is_formally_valid(match.group()):
                found.append(Finding(start, end, "jwt", match.group()))
        return found


# ---------------------------------------------------------------------------------------------------------------
# API keys and tokens with a recognizable shape


@dataclass(frozen=True, slots=True)
class TokenPattern:
    """A key pattern; ``gate`` (a substring of the lowercased text, or a pattern searched in it) must be there for
    the pattern to be tried; ``group`` holds the key; ``extend`` grows the match to the end of its token."""

    regex: Pattern[str]
    gate: str | Pattern[str] | None = None
    group: int = 0
    extend: bool = True


# Gates shared by several patterns: one scan of the text answers for all of them.
_GITHUB_GATE = re.compile(r"gh[pousr]_|github_pat_")
_GITLAB_GATE = re.compile(r"gl[a-z]{2,6}-|gr1348941")
_STRIPE_GATE = re.compile(r"_(?:live|test)_")


def library_patterns() -> list[TokenPattern]:
    """The denylist regexes of the detect-secrets 1.5 plugins that recognize a key by its shape alone."""
    aws_id, aws_secret = AWSKeyDetector.denylist
    slack_token, slack_webhook = SlackDetector.denylist
    return [
        TokenPattern(aws_id),
        TokenPattern(aws_secret, "aws", group=1, extend=False),
        *(TokenPattern(regex, _GITHUB_GATE) for regex in GitHubTokenDetector.denylist),
        *(TokenPattern(regex, _GITLAB_GATE) for regex in GitLabTokenDetector.denylist),
        TokenPattern(slack_token, "xox"),
        TokenPattern(slack_webhook, "hooks.slack.com", extend=False),
        *(TokenPattern(regex, "sk-") for regex in OpenAIDetector.denylist),
        *(TokenPattern(regex, _STRIPE_GATE) for regex in StripeDetector.denylist),
        *(TokenPattern(regex, "sg.") for regex in SendGridDetector.denylist),
        *(TokenPattern(regex, "pypi-") for regex in PypiTokenDetector.denylist),
        *(TokenPattern(regex, "sq0csp-") for regex in SquareOAuthDetector.denylist),
        *(TokenPattern(regex) for regex in TwilioKeyDetector.denylist),
        *(TokenPattern(regex, "-us") for regex in MailchimpDetector.denylist),
        *(TokenPattern(regex, ":aa") for regex in TelegramBotTokenDetector.denylist),
    ]


def hand_patterns() -> list[TokenPattern]:
    """Keys that no detect-secrets 1.5 plugin knows, or knows only in an older shape."""
    return [
        # Anthropic: sk-ant-api03-..., sk-ant-admin01-...
        TokenPattern(re.compile(r"sk-ant-[a-z]{2,8}\d{2}-[A-Za-z0-9_-]{32,}"), "sk-"),
        # OpenAI project, service-account and admin keys, and other long sk- keys (DeepSeek, OpenRouter...).
        TokenPattern(re.compile(r"sk-(?:proj|svcacct|admin|or-v1|None)-[A-Za-z0-9_-]{20,}"), "sk-"),
        TokenPattern(re.compile(r"sk-[A-Za-z0-9]{32,}"), "sk-"),
        # Google API keys.
        TokenPattern(re.compile(r"AIza[0-9A-Za-z_-]{35}"), "aiza"),
        # GitHub fine-grained personal access tokens.
        TokenPattern(re.compile(r"github_pat_[A-Za-z0-9_]{50,}"), _GITHUB_GATE),
        # Stripe test and publishable keys (detect-secrets knows only sk_live_ and rk_live_).
        TokenPattern(re.compile(r"(?:sk|rk|pk)_(?:test|live)_[0-9A-Za-z]{16,}"), _STRIPE_GATE),
        # Hugging Face, npm, Slack app-level, Groq, Replicate, xAI.
        TokenPattern(re.compile(r"hf_[A-Za-z0-9]{30,}"), "hf_"),
        TokenPattern(re.compile(r"npm_[A-Za-z0-9]{36}"), "npm_"),
        TokenPattern(re.compile(r"xapp-\d-[A-Z0-9]+-\d+-[a-f0-9]{32,}"), "xapp-"),
        TokenPattern(re.compile(r"gsk_[A-Za-z0-9]{40,}"), "gsk_"),
        TokenPattern(re.compile(r"r8_[A-Za-z0-9]{30,}"), "r8_"),
        TokenPattern(re.compile(r"xai-[A-Za-z0-9]{60,}"), "xai-"),
    ]


_SLACK_HOOK = "https://hooks.slack.com/services/"


class PrefixedTokens:
    """API keys recognized by their shape (``AKIA...``, ``ghp_...``, ``xoxb-...``, ``sk-ant-...``, ``AIza...``)."""

    def __init__(self, name: str, patterns: Sequence[TokenPattern]) -> None:
        self.name = name
        self.patterns = tuple(patterns)
        families: dict[str | Pattern[str] | None, list[TokenPattern]] = {}
        for pattern in self.patterns:
            families.setdefault(pattern.gate, []).append(pattern)
        self._families = tuple((gate, tuple(members)) for gate, members in families.items())

    def find(self, scan: Scan) -> list[Finding]:
        found: list[Finding] = []
        lower = scan.lower
        # a substring gate is tested here, as Scan.gate would, without its call: this loop runs ~20 times a text
        for gate, members in self._families:
            if gate is None or (gate in lower if isinstance(gate, str) else scan.gate(gate)):
                for pattern in members:
                    self._matches(scan.text, pattern, found)
        return found

    @staticmethod
    def _matches(text: str, pattern: TokenPattern, found: list[Finding]) -> None:
        for match in pattern.regex.finditer(text):
            start, end = match.span(pattern.group)
            if pattern.extend:
                if not clean_start(text, start, TOKEN_CHARS):
                    continue
                end = extend_token(text, end)
            if not all(c in TOKEN_CHARS or c in "./+=:" for c in text[start:end]):
                continue  # detect-secrets' class [A-Za-z0-9-_] also spans ':;<=>?@[\]^', never part of a key
            if text.startswith(_SLACK_HOOK, start):
                start += len(_SLACK_HOOK)
            found.append(Finding(start, end, "api-key", text[start:end]))


# ---------------------------------------------------------------------------------------------------------------
# Payment cards


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


_CARD_PREFIX = re.compile(
    r"4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|3[47]|6011|65|64[4-9]|62|35(?:2[89]|[3-8]\d)|30[0-5]|3[68]"
)


def card_number_ok(digits: str) -> bool:
    """13 to 19 digits, an issuer prefix in use by a card network, and a valid Luhn check digit."""
    return 13 <= len(digits) <= 19 and _CARD_PREFIX.match(digits) is not None and luhn_ok(digits)


_DIGIT_GROUP = re.compile(r"\d+")


class PaymentCards:
    """Card numbers, contiguous or grouped by one kind of separator, that start like a card and pass Luhn."""

    name = "card"

    def find(self, scan: Scan) -> list[Finding]:
        text = scan.text
        found = []
        for run_start, run_end in scan.numeric_runs:
            if run_end - run_start < 13:
                continue
            groups = [m.span() for m in _DIGIT_GROUP.finditer(text, run_start, run_end)]
            best = self._best(text, groups)
            if best is not None:
                start, end = best
                found.append(Finding(start, end, "card", "".join(c for c in text[start:end] if c.isdigit())))
        return found

    @staticmethod
    def _best(text: str, groups: list[tuple[int, int]]) -> tuple[int, int] | None:
        """The longest window of whole digit groups, one separator character throughout, that is a card number."""
        best: tuple[int, int] | None = None
        best_size = 0
        for first in range(len(groups)):
            if not clean_start(text, groups[first][0]) or text[groups[first][0] - 1 : groups[first][0]] in (".", "/"):
                continue
            digits = 0
            separator = ""
            for last in range(first, len(groups)):
                start, end = groups[last]
                if last > first:
                    between = text[groups[last - 1][1] : start]
                    if len(between) != 1 or between not in " -" or (separator and between != separator):
                        break
                    separator = between
                    if end - start < 3:
                        break
                digits += end - start
                if digits > 19:
                    break
                if digits < 13 or digits <= best_size:
                    continue
                after = text[end : end + 2]
                if after[:1].isalnum() or (after[:1] in "./" and after[1:2].isdigit()):
                    continue
                window = text[groups[first][0] : end]
                if card_number_ok(window.replace(separator, "") if separator else window):
                    best = (groups[first][0], end)
                    best_size = digits
        return best


# ---------------------------------------------------------------------------------------------------------------
# E-mail addresses

_EMAIL_LOCAL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-'")
_EMAIL = re.compile(
    r"[A-Za-z0-9._%+'-]{1,64}@((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24}))(?![A-Za-z0-9-])"
)
# Top-level domains accepted beyond the two-letter country codes; a longer TLD outside this list ("a@b.shape",
# "x@y.values" in code) is read as code, not an address.
_TLD_NAMES = (
    "com org net edu gov mil int info biz name pro mobi aero coop jobs museum app dev cloud tech online site xyz "
    "email mail page inc company agency digital systems solutions services software network global group studio "
    "design media news blog shop store health care clinic law legal finance bank money fund capital partners "
    "ventures insurance consulting academy school education university travel world life live team works center "
    "support energy photography berlin london paris nyc tokyo amsterdam gmbh"
)
COMMON_TLDS = frozenset(_TLD_NAMES.split())


class EmailAddresses:
    """``local@domain.tld``; not ``git@host:owner/repo`` remotes, not ``name@2x.png`` image names, not the user
    part of a URL (``https://$TOKEN@github.com``: that is for ``UrlCredentials``)."""

    name = "email"

    def find(self, scan: Scan) -> list[Finding]:
        text = scan.text
        if "@" not in text:
            return []
        found = []
        at = text.find("@")
        while at != -1:
            start = at
            while start > 0 and at - start < 64 and text[start - 1] in _EMAIL_LOCAL:
                start -= 1
            start = self._after_escape(text, start, at)
            while start < at and text[start] in ".'-":
                start += 1
            match = _EMAIL.match(text, start) if start < at else None
            if match is not None and self._accept(text, match):
                found.append(Finding(match.start(), match.end(), "email", match.group().lower()))
                at = text.find("@", match.end())
            else:
                at = text.find("@", at + 1)
        return found

    @staticmethod
    def _after_escape(text: str, start: int, at: int) -> int:
        """Skip the letters of an escape sequence (``\\n`` in JSON text) that the local part scan took in."""
        for index in range(max(start, 1), at):
            if text[index - 1] == "\\":
                if text[index] == "u" and all(c in HEX for c in text[index + 1 : index + 5]):
                    start = index + 5
                else:
                    start = index + 1
        return start

    @staticmethod
    def _accept(text: str, match: re.Match[str]) -> bool:
        tld = match.group(2).lower()
        if len(tld) > 2 and tld not in COMMON_TLDS:
            return False
        if re.match(r"\d+x\.", match.group(1)):  # icon@2x.png
            return False
        start = match.start()
        if text.endswith(("://", "$", "{"), 0, start):  # user part of a URL, or a shell variable
            return False
        local = match.group()[: match.group().index("@")]
        return not (local == "git" and text.startswith(":", match.end()))  # git@github.com:owner/repo.git


# ---------------------------------------------------------------------------------------------------------------
# Secrets next to key-like names

KEYWORD_ROOTS = ("pass", "pwd", "secret", "token", "key", "auth", "credential", "bearer", "cookie")
_KEY_NAME = re.compile(
    r"passw|passphrase|pwd|secret|token|credential|bearer|authori[sz]ation|auth(?!or)|cookie|apikey"
    r"|(?:api|access|private|secret|signing|encryption|client|master|session|app|account|service|db|database|auth"
    r"|license|admin|consumer|subscription|storage|x-api|webhook)[_.-]?key"
)
_NOT_KEY_NAME = re.compile(
    r"tokens|tokeni[sz]|token_?(?:count|limit|usage|type|budget|len|length|ids?\b|index|num|number|estimat|kind)"
    r"|(?:max|num|total|input|output|prompt|completion|reasoning|cached|cache)_?tokens?"
    r"|passthrough|passage|passenger|bypass|compass|password_?(?:policy|length|min|max|reset|hash_?algo|field|label)"
    r"|keyword|keyboard|keystroke|keyframe|keypress|keydown|keyup|keyerror|monkey|hotkey|author(?!i[sz])"
    r"|secret_?(?:name|id|arn|ref|path)|key_?(?:id|name|path|file|type|size|len|length)\b"
)
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_SCHEME = r"(?:(?:[Bb]earer|[Bb]asic|[Tt]oken|Digest)[ \t]+)?"
_ASSIGNED_VALUE = re.compile(
    r"""(?:\\?["'`])?\]?[ \t]*(?::=|=>|==|[:=]|[ \t](?:is|was|are|of)\b:?|(?=[ \t]))[ \t]*"""
    r"""(?:\\?["'`]"""
    + _SCHEME
    + r"""(?P<quoted>[^\s"'`\\<>]{8,512})|"""
    + _SCHEME
    + r"""(?P<value>[^\s"'`<>\\,;(){}\[\]|]{8,512}))"""
)
_FIRM_SEPARATOR = re.compile(r"[:=>\"'`]|\b(?:is|was|are|of|[Bb]earer|[Bb]asic|[Tt]oken|Digest)\b")
_COOKIE_HEADER = re.compile(r"\\?[\"']?[ \t]*[:=][ \t]*\\?[\"']?")
_COOKIE_PAIR = re.compile(r"[^=;\s\"'\\]+=([^;\s\"'\\<>]{8,512})")
_WORDISH = re.compile(r"[A-Za-z]+(?:[._/:@-][A-Za-z]+)*")
_WORD = r"(?:[a-z]+|[A-Z]+|[A-Z][a-z]+)\d*"
_IDENTIFIER_WORDS = re.compile(rf"{_WORD}(?:_{_WORD})+|[a-z]+(?:[A-Z][a-z]+)+\d*")
_PATH = re.compile(r"(?:~|\.{1,2})?/(?:[a-z0-9_.-]+|[A-Z][a-z0-9_.-]*)(?:/(?:[a-z0-9_.-]+|[A-Z][a-z0-9_.-]*))*/?")
_NUMERIC = re.compile(r"[\d.,:/ +-]+")
_REFERENCE = re.compile(
    r"\$[A-Za-z_{(]|%\(|\{\{|(?:os|env|process|self|settings|config|secrets|vars|context|ctx|request|req)\."
    r"|[A-Za-z]:\\"
)
_MASKED = re.compile(r"[*xX.#•-]+|.*(?:\*{3}|xxxx|XXXX|\.\.\.|…).*")


def secret_value_ok(value: str) -> bool:
    """A value after a key-like name is a secret unless it is a reference, a mask, a word, a path or a number."""
    if _NUMERIC.fullmatch(value) or _MASKED.fullmatch(value) or _REFERENCE.match(value) or "://" in value:
        return False
    if _PATH.fullmatch(value):
        return False
    if _WORDISH.fullmatch(value) or _IDENTIFIER_WORDS.fullmatch(value):
        return False
    return looks_random(value)


class KeywordSecrets:
    """A secret-looking value assigned to, or said of, a key-like name: ``password=...``, ``"api_key": "..."``,
    ``Authorization: Bearer ...``, ``the password is ...``."""

    name = "secret"

    def find(self, scan: Scan) -> list[Finding]:
        text, lower = scan.text, scan.lower
        names: set[tuple[int, int]] = set()
        for root in KEYWORD_ROOTS:
            hit = lower.find(root)
            while hit != -1:
                start = hit
                while start > 0 and lower[start - 1] in _NAME_CHARS:
                    start -= 1
                end = hit + len(root)
                while end < len(lower) and lower[end] in _NAME_CHARS:
                    end += 1
                names.add((start, end))
                hit = lower.find(root, end)
        found = []
        for start, end in sorted(names):
            while end > start and lower[end - 1] in ".-":
                end -= 1
            name = lower[start:end]
            if _KEY_NAME.search(name) is None or _NOT_KEY_NAME.search(name) is not None:
                continue
            if name.endswith("cookie"):
                found += self._cookie_values(text, end)
                continue
            match = _ASSIGNED_VALUE.match(text, end)
            if match is None:
                continue
            if match.group("quoted") is not None:
                value_start, value_end = match.span("quoted")
            else:
                value_start, value_end = match.span("value")
                while value_end > value_start and text[value_end - 1] in ".:!?*_~":  # sentence end, markdown
                    value_end -= 1
            value = text[value_start:value_end]
            # A name followed by a mere space ("authorization specification") is prose until the value has a digit.
            loose = not _FIRM_SEPARATOR.search(text, end, value_start)
            if secret_value_ok(value) and not (loose and not any(c.isdigit() for c in value)):
                found.append(Finding(value_start, value_end, "secret", value))
        return found

    @staticmethod
    def _cookie_values(text: str, end: int) -> list[Finding]:
        """``Cookie: a=1; session=...``: the value of each pair that looks like a secret."""
        header = _COOKIE_HEADER.match(text, end)
        if header is None:
            return []
        line_end = text.find("\n", header.end())
        found = []
        for pair in _COOKIE_PAIR.finditer(text, header.end(), len(text) if line_end == -1 else line_end):
            value = pair.group(1)
            if secret_value_ok(value):
                found.append(Finding(pair.start(1), pair.end(1), "secret", value))
        return found


# ---------------------------------------------------------------------------------------------------------------
# IP addresses

_IPV4 = re.compile(r"(?:\d{1,3}\.){3}\d{1,3}")
_IPV6 = re.compile(
    r"(?:(?<![\w:.])|(?<=\\[nrt]))(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)[0-9A-Fa-f:]{2,39}"
    r"(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?!\w|\.\w)"
)
_IPV6_FULL_GATE = re.compile(r":[0-9a-f]{1,4}:[0-9a-f]{1,4}:[0-9a-f]{1,4}:")
_VERSION_BEFORE = re.compile(
    r"\b(?:version|ver|release|build|firmware|fw|kernel|v)[\"']?[ \t]*[:=]?[ \t]*[\"']?$|[A-Za-z]/$", re.IGNORECASE
)
_NETMASK_OCTETS = frozenset({"0", "128", "192", "224", "240", "248", "252", "254", "255"})


class IpAddresses:
    """IPv4 and IPv6 addresses; not loopback, unspecified, broadcast, netmasks, or versions (``version 1.2.3.4``,
    ``Chrome/120.0.0.0``)."""

    name = "ip"

    def find(self, scan: Scan) -> list[Finding]:
        return self._ipv4(scan) + self._ipv6(scan)

    def _ipv4(self, scan: Scan) -> list[Finding]:
        text = scan.text
        found = []
        for run_start, run_end in scan.numeric_runs:
            for match in _IPV4.finditer(text, run_start, run_end):
                start, end = match.span()
                if not clean_start(text, start) or (text[start - 1 : start] == "." and start > 0):
                    continue
                after = text[end : end + 2]
                if after[:1] in WORD_CHARS or (after[:1] == "." and after[1:2] in WORD_CHARS):
                    continue
                value = match.group()
                try:
                    address = ipaddress.IPv4Address(value)
                except ValueError:
                    continue
                if self._kept(address) or (value.startswith("255.") and set(value.split(".")) <= _NETMASK_OCTETS):
                    continue
                if _VERSION_BEFORE.search(text, max(0, start - 24), start):
                    continue
                found.append(Finding(start, end, "ip", str(address)))
        return found

    def _ipv6(self, scan: Scan) -> list[Finding]:
        text = scan.text
        anchors = []
        at = text.find("::")
        while at != -1:
            anchors.append(at)
            at = text.find("::", at + 40)
        if ":" in text:
            anchors += [m.start() for m in _IPV6_FULL_GATE.finditer(scan.lower)]
        found: dict[tuple[int, int], Finding] = {}
        for anchor in anchors:
            for match in _IPV6.finditer(text, max(0, anchor - 40), min(len(text), anchor + 48)):
                value = match.group()
                end = match.end()
                if value.endswith(":") and not value.endswith("::"):
                    value = value[:-1]
                    end -= 1
                if value.count(":") < 2 or not any(c.isdigit() for c in value) or end >= anchor + 47:
                    continue
                try:
                    address = ipaddress.IPv6Address(value)
                except ValueError:
                    continue
                if not self._kept(address):
                    found[match.start(), end] = Finding(match.start(), end, "ip", address.compressed)
        return list(found.values())

    @staticmethod
    def _kept(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return address.is_loopback or address.is_unspecified or str(address) == "255.255.255.255"


# ---------------------------------------------------------------------------------------------------------------
# Phone numbers

_PHONE_CONTEXT = re.compile(
    r"(?:\b(?:phone|tel|telephone|mobile|cell|fax|call|sms|whatsapp|contact|reach|dial|ph|mob|handy|telefon|"
    r"numéro|número)\b|(?<![\w.])[TtMmFfPp][.:])[^\n\d]{0,30}$",
    re.IGNORECASE,
)
_NANP_SHAPE = re.compile(r"(?:\+?1[ .-]?)?(?:\(\d{3}\)[ ]?|\d{3}[ .-])\d{3}[ .-]\d{4}")
_DATE = re.compile(
    r"(?<!\d)(?:(?:19|20)\d\d[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])|\d{1,2}/\d{1,2}/\d{2,4})(?!\d)"
)
_CHUNK = re.compile(r"\S+")
NATIONAL_REGIONS = ("GB", "DE", "FR", "IN", "AU", "NL", "ES", "IT", "BR", "JP")


class PhoneNumbers:
    """Numbers that libphonenumber (``phonenumbers``) calls valid: ``+`` numbers of any country; North American
    numbers written with separators; other national formats and bare digit runs only after a word like "phone"."""

    name = "phone"

    def find(self, scan: Scan) -> list[Finding]:
        text = scan.text
        found = []
        for start, end in scan.numeric_runs:
            if sum(c.isdigit() for c in text[start:end]) < 7:
                continue
            if text[start - 1 : start] == "(":
                start -= 1
            if text[start - 1 : start] == "+":
                start -= 1
            elif text[start - 2 : start] == "+ ":
                start -= 2
            if not clean_start(text, start) or (text[start - 1 : start] in ("/", ".", "+") and start > 0):
                continue
            if text[end : end + 1] in WORD_CHARS:  # digits glued to a word at the end: drop that last chunk
                space = max(text.rfind(" ", start, end), text.rfind("\t", start, end))
                if space - start < 7:
                    continue
                end = len(text[:space].rstrip(" \t.-(/"))
            if text.startswith(":", end) and text[end + 1 : end + 2].isdigit():
                continue  # a time: 2024-01-15 10:30
            context = _PHONE_CONTEXT.search(text, max(0, start - 40), start) is not None
            found.extend(self._numbers(text[start:end], start, context))
        return found

    @staticmethod
    def _numbers(raw: str, offset: int, context: bool) -> list[Finding]:
        if _DATE.search(raw) or not (context or raw.startswith("+") or _NANP_SHAPE.search(raw)):
            return []
        regions = ("US", *NATIONAL_REGIONS) if context else ("US",)
        for region in regions:
            hits = []
            for match in phonenumbers.PhoneNumberMatcher(raw, region, leniency=phonenumbers.Leniency.VALID):
                number = match.raw_string
                nanp = region == "US" and match.number.country_code == 1 and _NANP_SHAPE.fullmatch(number) is not None
                if not (context or number.startswith("+") or nanp):
                    continue
                key = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
                hits.append(Finding(offset + match.start, offset + match.end, "phone", key))
            if hits:
                return hits
        return PhoneNumbers._window(raw, offset, context, regions)

    @staticmethod
    def _window(raw: str, offset: int, context: bool, regions: tuple[str, ...]) -> list[Finding]:
        """A run the matcher read as one invalid number (``+44 20 7946 0321 2 times``): the longest run of its
        space-separated chunks that is a valid number on its own."""
        chunks = [m.span() for m in _CHUNK.finditer(raw)]
        if not 2 <= len(chunks) <= 10:
            return []
        for size in range(len(chunks) - 1, 0, -1):
            for first in range(len(chunks) - size + 1):
                start, end = chunks[first][0], chunks[first + size - 1][1]
                number = raw[start:end]
                if not 7 <= sum(c.isdigit() for c in number) <= 15:
                    continue
                if not (context or number.startswith("+") or _NANP_SHAPE.fullmatch(number)):
                    continue
                for region in regions:
                    try:
                        parsed = phonenumbers.parse(number, region)
                    except phonenumbers.NumberParseException:
                        continue
                    if phonenumbers.is_valid_number(parsed):
                        key = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
                        return [Finding(offset + start, offset + end, "phone", key)]
        return []


def default_detectors() -> list[Detector]:
    """Every detector (the order does not matter: overlaps are settled by kind)."""
    return [
        PrivateKeyBlocks(),
        UrlCredentials(),
        JsonWebTokens(),
        PrefixedTokens("detect-secrets tokens", library_patterns()),
        PrefixedTokens("hand-written tokens", hand_patterns()),
        PaymentCards(),
        EmailAddresses(),
        KeywordSecrets(),
        IpAddresses(),
        PhoneNumbers(),
    ]
