"""Redaction of PII and secrets: corpus recall and look-alike figures, each kind, consistency, calls, properties."""

from __future__ import annotations

import json
import re
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from slmscout.traces import ReadSummary, read_traces, redaction
from slmscout.traces.record import Caller, LLMCall, Message, SourceRef, ToolCall, ToolDefinition, Usage
from slmscout.traces.redaction import Redactor
from slmscout.traces.redaction_patterns import _VERSION_BEFORE as VERSION_BEFORE
from slmscout.traces.redaction_patterns import PLACEHOLDER, EmailAddresses, Finding, Scan, luhn_ok
from tests.conftest import OPENHANDS_SAMPLE
from tests.redaction.make_corpus import BUILT_WITH_PHONENUMBERS, CORPUS, KINDS, build_corpus, load, render, score

# Fake values of every kind, shaped like real ones (the Luhn digit of the card is valid).
EMAIL = "grace.okafor@northwind.io"
PHONE = "+44 20 7946 0321"
CARD = "4539 1488 0343 6467"
IPV4 = "203.0.113.77"
OPENAI = "sk-proj-Xa81bQ_z-Hk2LmN9pQr4StUvWxYz0123456789AbCdEfGhIjKlMnOpQrT3BlbkFJ0aB1cD2eF3gH4iJ5kL6mN7"
ANTHROPIC = "sk-ant-api03-" + "Zx9_Yw8-Vu7Ts6Rq5Po4Nm3Lk2Jh1Gf0EdCbA" * 2 + "q1w2e3r4t5y6u7i8o9AA"
AWS = "AKIAZ7Q4MXP2LRT5VWY3"
GITHUB = "ghp_R8s2Kd93LmQx7Vt1Zp4Hw6Yn0Bc5Jf2Ga8Eu"
SLACK = "xoxb-4827163950-7730192846152-Vq8Zr2Lm5Xk9Pt3Ws7Yd1Hb"
GOOGLE = "AIzaSyB3x-Q7vK9mZ2pL8rT4wN6yH1cF5jD0gE2"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq3ZlK9m2VxQpTnR4sW8yHcJ5dG1fE0aB6uI3oP\n"
    "Zx4Cv7Bn1Mm8Kk2Ll5Jj0Hh9Gg6Ff3Dd4Ss7Aa1Qq8Ww2Ee5Rr0Tt3Yy6Uu==\n-----END RSA PRIVATE KEY-----"
)
PASSWORD = "Tr0ub4dor&3xQ"


@pytest.fixture(scope="module")
def corpus() -> list[dict[str, object]]:
    return load()


def test_corpus_is_what_the_generator_makes() -> None:
    if phonenumbers.__version__ != BUILT_WITH_PHONENUMBERS:
        pytest.skip(f"corpus drawn with phonenumbers {BUILT_WITH_PHONENUMBERS}, {phonenumbers.__version__} installed")
    assert CORPUS.read_text(encoding="utf-8") == render(build_corpus()), "run python tests/redaction/make_corpus.py"


def test_corpus_has_hundreds_of_planted_values_and_look_alikes(corpus: list[dict[str, object]]) -> None:
    planted = [item for record in corpus for item in record["planted"]]  # type: ignore[attr-defined]
    kept = [item for record in corpus for item in record["lookalikes"]]  # type: ignore[attr-defined]
    assert len(planted) >= 400 and len(kept) >= 400
    for kind in KINDS:
        assert sum(1 for item in planted if item["kind"] == kind) >= 25, kind
    cards = [item["value"] for item in planted if item["kind"] == "card"]
    assert all(luhn_ok("".join(c for c in card if c.isdigit())) for card in cards)


def test_corpus_recall_and_look_alike_rate(corpus: list[dict[str, object]]) -> None:
    result = score(corpus, Redactor().text)
    print("\nredaction corpus:", *result.lines(), sep="\n")
    print(*result.examples[:20], sep="\n")
    assert result.recall >= 0.99
    assert result.lookalike_rate <= 0.01
    for kind in KINDS:
        assert result.planted[kind] - result.missed[kind] >= 0.95 * result.planted[kind], kind


# -- each kind ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Write to {EMAIL} today.", "Write to <EMAIL_1> today."),
        (f"mailto:{EMAIL.upper()}", "mailto:<EMAIL_1>"),
        (f"Call {PHONE} or (415) 555-0132.", "Call <PHONE_1> or <PHONE_2>."),
        ("cell: 4155550132", "cell: <PHONE_1>"),
        ("T: 020 7946 0321", "T: <PHONE_1>"),
        (f"card {CARD} exp 09/27", "card <CARD_1> exp 09/27"),
        ("amex 3782-822463-10005, visa 4111111111111111.", "amex <CARD_1>, visa <CARD_2>."),
        (f"from {IPV4}:8080 and [2001:db8:85a3::8a2e:370:7334]:443", "from <IP_1>:8080 and [<IP_2>]:443"),
        ("gw 10.0.0.1/24", "gw <IP_1>/24"),
        ("postgres://admin:S3cr3t-pw@db.acme.io:5432/app", "postgres://<URL_CREDENTIALS_1>@db.acme.io:5432/app"),
        ("redis://:Xk29fLq7mZ@cache:6379/0", "redis://<URL_CREDENTIALS_1>@cache:6379/0"),
        (f"OPENAI_API_KEY={OPENAI}", "OPENAI_API_KEY=<API_KEY_1>"),
        (f"key: {ANTHROPIC}", "key: <API_KEY_1>"),
        (f"aws {AWS} gh {GITHUB}", "aws <API_KEY_1> gh <API_KEY_2>"),
        (f"slack {SLACK} google {GOOGLE}", "slack <API_KEY_1> google <API_KEY_2>"),
        (
            "https://hooks.slack.com/services/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",
            "https://hooks.slack.com/services/<API_KEY_1>",
        ),
        (f"Authorization: Bearer {JWT}", "Authorization: Bearer <JWT_1>"),
        (f"key:\n{PRIVATE_KEY}\nthanks", "key:\n<PRIVATE_KEY_1>\nthanks"),
        (f'password = "{PASSWORD}"', 'password = "<SECRET_1>"'),
        (f"DB_PASSWORD={PASSWORD}", "DB_PASSWORD=<SECRET_1>"),
        (f'{{"client_secret": "{PASSWORD}"}}', '{"client_secret": "<SECRET_1>"}'),
        (f"the wifi password is {PASSWORD}.", "the wifi password is <SECRET_1>."),
        ("Authorization: Bearer 9f8a7b6c5d4e3f2a1b0cXyZ", "Authorization: Bearer <SECRET_1>"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Authorization: Basic <SECRET_1>"),
        ("Cookie: theme=dark; session=Ab3kD9fLm2Qx7ZpR8sT1uVw4", "Cookie: theme=dark; session=<SECRET_1>"),
    ],
)
def test_each_kind_is_replaced(text: str, expected: str) -> None:
    assert Redactor().text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "commit 3f786850e387550fdab836ed7e6dc881de23001b (short 3f78685)",
        "sha256 9f86d081884c7d659a2feaea0ad08a4e2c0b5f0b8a9f26a7c7b1a1f6e0d5c4b3 md5 d41d8cd98f00b204e9800998ecf8427e",
        "request 550e8400-e29b-41d4-a716-446655440000",
        "version 1.2.3.4, v2.10.1, Python 3.11.4, Chrome/120.0.0.0, OID 1.3.6.1.4.1.311",
        "at 2024-03-15T10:22:31Z, 15/03/2024 10:22, 20240315, epoch 1712345678 ms 1712345678901",
        "listen on localhost:8080, 127.0.0.1:5432, 0.0.0.0, ::1, mask 255.255.255.0",
        "order 4829-1057-3648-2911 and 4829105736, ISBN 978-0-13-468599-1, 1 234 567 rows",
        "def get_api_key(token: str, password: str) -> None: PASSWORD_MIN_LENGTH = 12; max_tokens = 4096",
        'api_key = os.environ["OPENAI_API_KEY"]; token = "${GITHUB_TOKEN}"; password = "********"',
        "export OPENAI_API_KEY=your-api-key-here; secret_name: prod/db/credentials; tokenizer: cl100k_base",
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
        "files /srv/app/src/auth/token_cache.py and logo@2x.png; remote git@github.com:acme/app.git",
        "std::vector<int> v; a::b; arn:aws:iam::123456789012:role/deploy; lodash@4.17.21",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx5Y2hlZSB0aGlzIGlzIGEgcHVibGljIGtleQ alice@laptop",
        "use Bearer authentication; Password must be at least 12 characters.",
        "an updated **authorization specification**, which enables people to use their existing tokens",
        'key = "user:42"; secret = None; token = request.headers.get("Authorization"); author: Jane Doe2024x',
        'headers = {"Authorization": f"Bearer {self.token}"}; export DB_PASSWORD="$(cat /run/secrets/db)"',
        "GET /api/v1/users/4155550132 200 12ms; Phone: N/A; max_completion_tokens=16384; ext. 4417",
    ],
)
def test_look_alikes_stay(text: str) -> None:
    redactor = Redactor()
    assert redactor.text(text) == text
    assert redactor.counts == {}


def test_json_escaped_text_stays_valid_json() -> None:
    inner = f"Email: {EMAIL}\nCard: {CARD}\nKey:\n{PRIVATE_KEY}\nip {IPV4}\n{AWS}"
    document = json.dumps({"content": inner, "nested": json.dumps({"note": inner})})
    redacted = Redactor().text(document)
    decoded = json.loads(redacted)
    for value in (EMAIL, CARD, IPV4, AWS, "MIIEpAIBAAKCAQEA"):
        assert value not in redacted
    assert decoded["content"].startswith("Email: <EMAIL_1>\nCard: <CARD_1>\nKey:\n<PRIVATE_KEY_1>\n")
    assert json.loads(decoded["nested"])["note"] == decoded["content"]


# -- consistency and idempotence ---------------------------------------------------------------------------------


def test_same_value_same_placeholder_and_numbering_by_first_appearance() -> None:
    redactor = Redactor()
    first = redactor.text(f"{EMAIL} then bob@acme.com and {AWS}")
    second = redactor.text(f"again {AWS}, {EMAIL.upper()}, bob@acme.com, {GITHUB}")
    assert first == "<EMAIL_1> then <EMAIL_2> and <API_KEY_1>"
    assert second == "again <API_KEY_1>, <EMAIL_1>, <EMAIL_2>, <API_KEY_2>"
    assert redactor.text("(415) 555-0132 / +1 415 555 0132") == "<PHONE_1> / <PHONE_1>"
    assert redactor.counts == {"email": 2, "api-key": 2, "phone": 1}


def test_a_value_found_once_is_replaced_everywhere_in_the_text() -> None:
    text = f"password={PASSWORD}\nlater someone pasted {PASSWORD} again"
    assert Redactor().text(text) == "password=<SECRET_1>\nlater someone pasted <SECRET_1> again"


def test_redaction_is_idempotent_on_the_corpus(corpus: list[dict[str, object]]) -> None:
    redactor = Redactor()
    for record in corpus:
        once = redactor.text(str(record["text"]))
        assert Redactor().text(once) == once, record["id"]
        assert (PLACEHOLDER.search(once) is not None) == bool(record["planted"])


def test_same_input_same_output() -> None:
    texts = [str(record["text"]) for record in load()[:40]]
    assert [Redactor().text(t) for t in texts] == [Redactor().text(t) for t in texts]
    one, two = Redactor(), Redactor()
    assert [one.text(t) for t in texts] == [two.text(t) for t in texts]
    assert one.counts == two.counts


def test_long_texts_scanned_by_paragraph_match_a_whole_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    records = [r for r in load() if "PRIVATE KEY" not in str(r["text"])]
    documents = ["\n\n".join(str(r["text"]) for r in records[i : i + 6]) for i in range(0, 60, 6)]
    filler = "filler line\n" * 120
    documents.append(f"password={PASSWORD}\n\n{filler}\n\nsomeone pasted {PASSWORD} again")
    by_paragraph = Redactor()
    split = [by_paragraph.text(d) for d in documents]
    monkeypatch.setattr(redaction, "SPLIT_ABOVE", 10**9)
    whole = Redactor()
    assert split == [whole.text(d) for d in documents]
    assert by_paragraph.counts == whole.counts
    first, again = re.findall(r"<SECRET_\d+>", split[-1])
    assert first == again and split[-1].endswith(f"someone pasted {again} again")


def test_json_stays_json_even_when_a_finding_would_break_it() -> None:
    class GreedyEmails:
        """A faulty detector: takes the escape's backslash in front of an address, as a careless pattern would."""

        name = "greedy"

        def find(self, scan: Scan) -> list[Finding]:
            return [Finding(f.start - 1, f.end, f.kind, f.key) for f in EmailAddresses().find(scan)]

    arguments = json.dumps({"to": f"list: {EMAIL}", "n": 3}).replace(" grace", "\\u0020grace")
    redactor = Redactor([GreedyEmails()])
    with pytest.raises(ValueError):
        json.loads(redactor.text(arguments))  # the faulty detector cut into the escape: not JSON any more
    assert json.loads(redactor.json_text(arguments)) == {"to": "list:<EMAIL_1>", "n": 3}
    assert redactor.json_text("not json: " + EMAIL) == "not json:<EMAIL_1>"  # not JSON: the text as redacted


# -- calls ---------------------------------------------------------------------------------------------------------


def secret_call() -> LLMCall:
    arguments = json.dumps({"to": EMAIL, "body": f"card {CARD}\nkey {AWS}"})
    return LLMCall(
        call_id="call-1",
        source=SourceRef("trace.jsonl", "7", "openai-chat"),
        messages=(
            Message("system", f"Use {GITHUB} for GitHub."),
            Message("user", f"My phone is {PHONE}", name=f"user {EMAIL}"),
            Message("assistant", "", tool_calls=(ToolCall("send_mail", arguments, id="tc_1"),)),
            Message("tool", f"sent from {IPV4}", tool_call_id="tc_1"),
        ),
        response=f"Done, token {JWT}",
        response_tool_calls=(ToolCall("store", json.dumps({"password": PASSWORD}), id="tc_2"),),
        tools=(
            ToolDefinition(
                "send_mail",
                f"Send mail; the admin is {EMAIL}",
                json.dumps({"type": "object", "description": f"default key {GOOGLE}"}),
            ),
        ),
        model="gpt-4o",
        caller=Caller(agent=f"agent of {EMAIL}"),
        session_id=f"session {EMAIL}",
        usage=Usage(input_tokens=10, output_tokens=5),
        latency_ms=12.5,
        started_at="2024-05-01T10:00:00Z",
        ended_at="2024-05-01T10:00:01Z",
        status="error",
        error=f"401 for key {SLACK}",
        metadata={"owner": EMAIL, "ip": IPV4, "attempt": 2, "ok": False},
    )


def test_call_redacts_every_text_field() -> None:
    original = secret_call()
    redacted = Redactor().call(original)
    dumped = repr(redacted)
    for value in (EMAIL, CARD, AWS, GITHUB, PHONE, IPV4, JWT, PASSWORD, GOOGLE, SLACK):
        assert value not in dumped, value
    assert (redacted.call_id, redacted.source, redacted.model, redacted.usage) == (
        original.call_id,
        original.source,
        original.model,
        original.usage,
    )
    assert (redacted.started_at, redacted.ended_at, redacted.latency_ms, redacted.status) == (
        original.started_at,
        original.ended_at,
        original.latency_ms,
        original.status,
    )
    assert redacted.messages[2].tool_calls[0].id == "tc_1" and redacted.messages[3].tool_call_id == "tc_1"
    arguments = json.loads(redacted.messages[2].tool_calls[0].arguments)
    assert arguments == {"to": "<EMAIL_1>", "body": "card <CARD_1>\nkey <API_KEY_2>"}
    assert json.loads(redacted.response_tool_calls[0].arguments) == {"password": "<SECRET_1>"}
    assert json.loads(redacted.tools[0].parameters)["description"] == "default key <API_KEY_3>"
    assert redacted.metadata == {"owner": "<EMAIL_1>", "ip": "<IP_1>", "attempt": 2, "ok": False}
    assert redacted.session_id == "session <EMAIL_1>" and redacted.caller.agent == "agent of <EMAIL_1>"


def test_real_calls_keep_their_json_and_lose_nothing_else() -> None:
    calls = list(read_traces([Path(OPENHANDS_SAMPLE)], ReadSummary(), None))
    redactor = Redactor()
    redacted = [redactor.call(c) for c in calls]
    assert redactor.counts == {}  # real agent prompts with no PII in them come through unchanged
    assert redacted == calls


# -- properties ----------------------------------------------------------------------------------------------------

PLANTED = st.sampled_from(
    [EMAIL, PHONE, CARD, IPV4, OPENAI, ANTHROPIC, AWS, GITHUB, SLACK, GOOGLE, JWT, PRIVATE_KEY, f"password={PASSWORD}"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_never_crashes_and_is_idempotent_on_any_text(text: str) -> None:
    once = Redactor().text(text)
    assert Redactor().text(once) == once


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(), PLANTED, st.text())
def test_a_planted_secret_never_survives_in_random_text(before: str, planted: str, after: str) -> None:
    # by design, a dotted quad right after a version word ("v", "build"...) is a version number and stays
    assume(not (planted == IPV4 and VERSION_BEFORE.search(f"{before} ")))
    value = planted.removeprefix("password=")
    output = Redactor().text(f"{before} {planted} {after}")
    assert value not in output
    assert Redactor().text(output) == output
