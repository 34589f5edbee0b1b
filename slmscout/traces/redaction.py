"""Redaction of PII and secrets in LLM calls: what slmscout writes or shows has these replaced by placeholders.

``Redactor.text`` returns a copy of a text with every value found replaced by ``<KIND_N>`` (``<EMAIL_1>``,
``<API_KEY_2>``...). Within one ``Redactor`` the same value always gets the same placeholder, numbered per kind in
order of first appearance, so clustering and templates see one stable token where a prompt had a value ("the same
value" after normalizing: e-mails case-insensitive, phone numbers as E.164, cards as digits, IPs canonical).
Redacting its own output changes nothing. ``Redactor.call`` does the same for every text field of an ``LLMCall``;
``counts`` tells how many distinct values of each kind were replaced.

What is replaced, and what is left (each rule is a detector in ``redaction_patterns``):

- ``private-key``: a whole ``-----BEGIN ... PRIVATE KEY-----`` block to its END line, also inside JSON text
  (``\\n`` escapes); a block cut off without END is replaced to the end of its key body.
- ``url-credentials``: the ``user:password`` of ``scheme://user:password@host/...``; scheme, host and path stay.
  A lone user name (``ssh://git@host``) stays unless it looks like a key (16+ random-looking characters), and so
  does a shell variable (``https://$TOKEN@github.com``).
- ``jwt``: ``eyJ...`` ``header.payload[.signature]`` tokens whose header and payload decode to JSON
  (detect-secrets' validity check).
- ``api-key``: keys recognized by their shape. detect-secrets 1.5's own patterns: AWS access key ids (and AWS
  secret keys quoted after "aws ... key"), GitHub, GitLab, Slack tokens and webhooks (only the path after
  ``/services/`` is replaced), OpenAI (``T3BlbkFJ`` keys), Stripe live keys, SendGrid, PyPI, Square, Twilio,
  Mailchimp, Telegram bot tokens. Written here because detect-secrets lacks them: Anthropic ``sk-ant-...``,
  OpenAI project keys and other long ``sk-`` keys, Google ``AIza...``, GitHub fine-grained ``github_pat_...``,
  Stripe test and publishable keys, Hugging Face, npm, Slack app, Groq, Replicate, xAI. A match grows to the end
  of its token, so a key longer than its pattern never leaves a tail behind.
- ``card``: 13-19 digits, contiguous or grouped by one kind of separator, starting with an issuer prefix in use
  and passing the Luhn check. Order and ticket numbers that fail Luhn (or start like no card) stay.
- ``email``: ``local@domain.tld`` with a two-letter country TLD or a common generic one (``a@b.shape`` in code
  stays); ``git@github.com:owner/repo`` remotes and ``icon@2x.png`` image names stay.
- ``secret``: a value assigned to, or said of, a key-like name (``password``, ``passwd``, ``pwd``, ``secret``,
  ``token``, ``api_key``/``access_key``/``private_key`` and other qualified ``*_key`` names, ``auth``,
  ``Authorization``, ``credential``, ``Bearer``) with ``=``, ``:``, ``:=``, ``=>``, a space or "is/was", quoted or
  not, JSON or not; and the values of a ``Cookie:``/``Set-Cookie:`` header. The value must look random (8+
  characters, several character classes and enough entropy) and must not be a reference (``$VAR``, ``${...}``,
  ``os.environ...``, ``{{...}}``), a path, a URL, a mask (``****``, ``xxxx``), a word or identifier
  (``OPENAI_API_KEY``, ``getToken``) or a number. Names that hold no secret stay out: ``max_tokens``,
  ``tokenizer``, ``token_count``, ``secret_name``, ``key_id``, ``keyword``, ``author``... Base64 and hex strings
  (hashes, digests, image data, ``sha512-`` integrity values, public keys) next to no key-like name are never
  secrets here. Passwords shorter than 8 characters or with spaces are not caught.
- ``ip``: IPv4 and IPv6 addresses, private ranges included (they map internal networks). Loopback
  (``127.0.0.1``, ``::1``), unspecified (``0.0.0.0``, ``::``), broadcast and netmasks (``255.255.255.0``) stay:
  they name no machine, and code and docs are full of them. A dotted quad after "version"/"v"/"build"/"release"
  or right after ``Product/`` (a user agent's ``Chrome/120.0.0.0``) is a version and stays, as do longer dotted
  runs (OIDs, ``1.2.3.4.5``). IPv6 needs two colons and a digit (``std::vector``, ``a::b`` stay).
- ``phone``: numbers libphonenumber (``phonenumbers``) calls valid: ``+``-prefixed numbers of any country; North
  American numbers written with separators (``(415) 555-0132``, ``415.555.0132``); national formats of other
  countries (``020 7946 0321``) and bare digit runs (``4155550132``) only within 30 characters, on the same line
  and with no digit between, after a word like "phone", "tel", "mobile", "cell", "call", "contact" or a "T:"/"M:"
  label. Dates, times, versions, ports, ISBNs, timestamps and ids stay.

What always stays: git SHAs, sha256/md5 digests, UUIDs, version strings, dates and times, ports, file paths, code
identifiers, base64 next to no key-like name, and the placeholders themselves. When two findings overlap, the more
specific kind wins, in the order listed above (a key inside ``api_key = "..."`` is an ``api-key``, not a
``secret``). A key, token, secret or URL credential found once in a text is also replaced wherever else it stands
in that text as a whole token.

Placeholders hold no quote or backslash and no finding starts inside an escape sequence, so JSON text stays valid
JSON; for the JSON fields of a call (tool-call arguments, tool parameters) this is checked, and if it ever failed,
the strings inside the JSON would be redacted one by one instead.

Speed: each distinct text is redacted once per ``Redactor`` (a memo bounded by size: the texts used least recently
are forgotten first), and a long text is scanned paragraph by
paragraph with each distinct paragraph scanned once, because agents send the same instructions in call after
call. Every detector asks a cheap question first (is there an ``@``, a ``://``, a key prefix, a run of digits) and
runs its patterns and libraries only where the answer is yes. ``benchmarks/redaction.py`` measures it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

from slmscout.traces.memo import BoundedMemo
from slmscout.traces.record import Caller, JsonScalar, LLMCall, Message, ToolCall, ToolDefinition
from slmscout.traces.redaction_patterns import (
    KINDS,
    PLACEHOLDER,
    PRIORITY,
    TOKEN_CHARS,
    Detector,
    Finding,
    Scan,
    default_detectors,
)

LABELS = {kind: kind.upper().replace("-", "_") for kind in KINDS}
# Kinds whose value, once found in a text, is replaced wherever else it stands in that text.
REPEATED_KINDS = frozenset({"api-key", "jwt", "secret", "url-credentials"})
# Texts at least this long are scanned paragraph by paragraph, each distinct paragraph once.
SPLIT_ABOVE = 1024
JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]


KIND_OF_LABEL = {label: kind for kind, label in LABELS.items()}
# A placeholder whose number is not decided yet (see ``Redactor(deferred_key=...)``): 18 digits keyed on the value.
DEFERRED = re.compile(r"<(" + "|".join(sorted(LABELS.values(), key=len, reverse=True)) + r")_(\d{18})>")
DEFERRED_DIGITS = 18


def placeholder_spans(value: str) -> list[tuple[int, int]]:
    return [m.span() for m in PLACEHOLDER.finditer(value)] if "<" in value else []


MEMO_CHARS = 16_000_000  # characters of distinct texts remembered, and of paragraphs (each memo; see BoundedMemo)


class Redactor:
    """Replaces PII and secrets by stable placeholders; one per run, fed calls in a canonical order.

    With ``deferred_key``, placeholders are not numbered as they are met but carry a keyed hash of the value
    (``<EMAIL_`` and 18 digits): redactors in several processes, fed calls in any order, then agree on every value,
    and ``PlaceholderNumbering`` turns the hashes into ``<EMAIL_1>``... in canonical call order afterwards.
    """

    def __init__(self, detectors: Sequence[Detector] | None = None, *, deferred_key: bytes | None = None) -> None:
        self._detectors: tuple[Detector, ...] = tuple(default_detectors() if detectors is None else detectors)
        self._deferred_key = deferred_key
        self._placeholders: dict[str, str] = {}
        self._counts: dict[str, int] = {}
        self._memo: BoundedMemo[str] = BoundedMemo(MEMO_CHARS)
        self._paragraphs: BoundedMemo[list[Finding]] = BoundedMemo(MEMO_CHARS)

    @property
    def counts(self) -> dict[str, int]:
        """Distinct values replaced so far, by kind."""
        return dict(self._counts)

    def text(self, value: str) -> str:
        """A redacted copy of one text."""
        done = self._memo.get(value)
        if done is None:
            done = self._redact(value)
            self._memo.put(value, done)  # bounded: the memo only saves work, placeholders are kept apart
        return done

    def call(self, call: LLMCall) -> LLMCall:
        """A copy of ``call`` with every text field redacted; ids, source, model, usage and times unchanged."""
        return replace(
            call,
            messages=tuple(self._message(m) for m in call.messages),
            tools=tuple(self._tool(t) for t in call.tools),
            response=self._optional(call.response),
            response_tool_calls=tuple(self._tool_call(t) for t in call.response_tool_calls),
            caller=Caller(
                agent=self._optional(call.caller.agent),
                role=self._optional(call.caller.role),
                module=self._optional(call.caller.module),
            ),
            session_id=self._optional(call.session_id),
            error=self._optional(call.error),
            metadata={key: self._scalar(value) for key, value in call.metadata.items()},
        )

    def findings(self, value: str) -> list[Finding]:
        """What would be replaced in ``value``: non-overlapping findings in text order.

        A long text is scanned paragraph by paragraph (split at blank lines), each distinct paragraph once per
        ``Redactor``: agents repeat the same instructions across calls, so most paragraphs of a new prompt were
        seen before. No finding crosses a blank line, except a private key block (a PGP or encrypted PEM block
        has one inside), so a text holding one is scanned whole.
        """
        if not value:
            return []
        if len(value) < SPLIT_ABOVE or "\n\n" not in value or "PRIVATE KEY" in value:
            found = self._scan(value)
        else:
            found = []
            offset = 0
            for paragraph in value.split("\n\n"):
                known = self._paragraphs.get(paragraph)
                if known is None:
                    known = self._scan(paragraph)
                    self._paragraphs.put(paragraph, known)
                found += [Finding(f.start + offset, f.end + offset, f.kind, f.key) for f in known]
                offset += len(paragraph) + 2
        if found:
            found += self._repeats(value, found)
        return sorted(found, key=lambda f: f.start)

    def _scan(self, value: str) -> list[Finding]:
        """Run every detector; where findings overlap (or touch a placeholder), the more specific kind wins."""
        scan = Scan(value)
        candidates = [f for detector in self._detectors for f in detector.find(scan) if f.end > f.start]
        if not candidates:
            return []
        taken = placeholder_spans(value)
        chosen: list[Finding] = []
        for finding in sorted(candidates, key=lambda f: (PRIORITY[f.kind], f.start - f.end, f.start)):
            if not any(finding.start < end and start < finding.end for start, end in taken):
                chosen.append(finding)
                taken.append((finding.start, finding.end))
        return chosen

    def _redact(self, value: str) -> str:
        found = self.findings(value)
        if not found:
            return value
        parts = []
        position = 0
        for finding in found:
            parts.append(value[position : finding.start])
            parts.append(self._placeholder(finding))
            position = finding.end
        parts.append(value[position:])
        return "".join(parts)

    def _placeholder(self, finding: Finding) -> str:
        placeholder = self._placeholders.get(finding.key)
        if placeholder is None and self._deferred_key is not None:
            digest = hashlib.blake2b(finding.key.encode("utf-8", "replace"), key=self._deferred_key, digest_size=8)
            number = int.from_bytes(digest.digest(), "big") % 10**DEFERRED_DIGITS
            placeholder = f"<{LABELS[finding.kind]}_{number:0{DEFERRED_DIGITS}d}>"
            self._placeholders[finding.key] = placeholder
        elif placeholder is None:
            number = self._counts.get(finding.kind, 0) + 1
            self._counts[finding.kind] = number
            placeholder = f"<{LABELS[finding.kind]}_{number}>"
            self._placeholders[finding.key] = placeholder
        return placeholder

    @staticmethod
    def _repeats(value: str, found: list[Finding]) -> list[Finding]:
        """Other occurrences, as whole tokens, of the secrets found in ``value``: a password quoted again in prose."""
        repeated = [f for f in found if f.kind in REPEATED_KINDS and f.end - f.start >= 8]
        if not repeated:
            return []
        taken = [(f.start, f.end) for f in found] + placeholder_spans(value)
        extra: list[Finding] = []
        for finding in repeated:
            raw = value[finding.start : finding.end]
            at = value.find(raw)
            while at != -1:
                end = at + len(raw)
                bounded = (at == 0 or value[at - 1] not in TOKEN_CHARS) and (
                    end == len(value) or value[end] not in TOKEN_CHARS
                )
                if bounded and not any(at < e and s < end for s, e in taken):
                    extra.append(Finding(at, end, finding.kind, finding.key))
                    taken.append((at, end))
                at = value.find(raw, at + 1)
        return extra

    def _optional(self, value: str | None) -> str | None:
        return None if value is None else self.text(value)

    def _scalar(self, value: JsonScalar) -> JsonScalar:
        return self.text(value) if isinstance(value, str) else value

    def _message(self, message: Message) -> Message:
        content = self.text(message.content)
        name = self._optional(message.name)
        if content == message.content and name == message.name and not message.tool_calls:
            return message  # most turns hold nothing to redact: kept as they are, not copied
        return replace(
            message, content=content, name=name, tool_calls=tuple(self._tool_call(t) for t in message.tool_calls)
        )

    def _tool_call(self, tool_call: ToolCall) -> ToolCall:
        return replace(tool_call, name=self.text(tool_call.name), arguments=self.json_text(tool_call.arguments))

    def _tool(self, tool: ToolDefinition) -> ToolDefinition:
        return replace(
            tool,
            name=self.text(tool.name),
            description=self.text(tool.description),
            parameters=self.json_text(tool.parameters),
        )

    def json_text(self, value: str) -> str:
        """Redact a text that is usually JSON, keeping it valid JSON when it was."""
        redacted = self.text(value)
        if redacted == value:
            return value
        try:
            parsed: JsonValue = json.loads(value)
        except ValueError:
            return redacted
        try:
            json.loads(redacted)
        except ValueError:
            return json.dumps(self._json_value(parsed), ensure_ascii=False)
        return redacted

    def _json_value(self, value: JsonValue) -> JsonValue:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self._json_value(item) for item in value]
        if isinstance(value, dict):
            return {self.text(key): self._json_value(item) for key, item in value.items()}
        return value


def text_fields(call: LLMCall) -> Iterator[str]:
    """A call's text fields in the order ``Redactor.call`` redacts them: the order placeholders are numbered in."""
    for message in call.messages:
        yield message.content
        if message.name:
            yield message.name
        for tool_call in message.tool_calls:
            yield tool_call.name
            yield tool_call.arguments
    for tool in call.tools:
        yield from (tool.name, tool.description, tool.parameters)
    yield call.response or ""
    for tool_call in call.response_tool_calls:
        yield tool_call.name
        yield tool_call.arguments
    yield from (v for v in (call.caller.agent, call.caller.role, call.caller.module, call.session_id, call.error) if v)
    yield from (v for v in call.metadata.values() if isinstance(v, str))


def deferred_placeholders(texts: Iterable[str]) -> tuple[str, ...]:
    """The deferred placeholders in ``texts``, each once, in order of first appearance."""
    found: dict[str, None] = {}
    for text in texts:
        if "<" in text:
            found.update((m.group(0), None) for m in DEFERRED.finditer(text))
    return tuple(found)


def short_placeholders(text: str) -> str:
    """``text`` with every deferred placeholder written as a numbered one (``<EMAIL_1>``): what token counts see."""
    return DEFERRED.sub(lambda m: f"<{m.group(1)}_1>", text) if "<" in text else text


class PlaceholderNumbering:
    """Numbers deferred placeholders per kind in order of first appearance, as a run's one ``Redactor`` would.

    Feed each call's placeholders (``deferred_placeholders``) in canonical call order, then ``apply`` to any text.
    """

    def __init__(self) -> None:
        self._numbers: dict[str, str] = {}
        self._counts: dict[str, int] = {}

    def add(self, placeholders: Iterable[str]) -> None:
        for placeholder in placeholders:
            if placeholder not in self._numbers:
                label = placeholder[1 : -DEFERRED_DIGITS - 2]
                kind = KIND_OF_LABEL.get(label, label.lower())
                number = self._counts.get(kind, 0) + 1
                self._counts[kind] = number
                self._numbers[placeholder] = f"<{label}_{number}>"

    @property
    def counts(self) -> dict[str, int]:
        """Distinct values replaced, by kind."""
        return dict(self._counts)

    def __bool__(self) -> bool:
        return bool(self._numbers)

    def apply(self, text: str) -> str:
        if not self._numbers or "<" not in text:
            return text
        return DEFERRED.sub(lambda m: self._numbers.get(m.group(0), m.group(0)), text)
