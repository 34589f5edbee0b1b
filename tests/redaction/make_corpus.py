"""Build the redaction test corpus: realistic prompt texts with planted PII and secrets, and look-alikes that stay.

    python tests/redaction/make_corpus.py          # rewrites tests/redaction/corpus.jsonl (fixed seed)

Every planted value is fake but shaped like the real thing: right prefixes and lengths, a valid Luhn digit for
cards, JSON that decodes inside JWTs, and phone numbers inside a numbering plan in use (the generator asks
libphonenumber, the way a card generator computes the Luhn digit). Look-alikes are values a redactor must leave:
git SHAs, digests, UUIDs, versions, dates, ports, order numbers that fail Luhn, code identifiers, references to
secrets (not secrets), base64 and hex next to no key-like name, paths, loopback addresses, public keys.

Each line of corpus.jsonl: ``{"id", "genre", "text", "planted": [{"kind", "value"}], "lookalikes": [{"kind",
"value"}]}``. Every value occurs verbatim in ``text``; no look-alike is part of a planted value or the reverse.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import phonenumbers

SEED = 20240607
# The phonenumbers release whose numbering plans drew the committed corpus (a later one may accept other numbers).
BUILT_WITH_PHONENUMBERS = "9.0.43"
CORPUS = Path(__file__).with_name("corpus.jsonl")
KINDS = ("email", "phone", "card", "ip", "url-credentials", "api-key", "jwt", "private-key", "secret")
PER_KIND = 50
LOOKALIKES = 600

FIRST: tuple[str, ...]  # grown below: of any length
FIRST = ("alice", "bob", "carla", "dmitri", "elena", "farid", "grace", "hiro", "ines", "jamal", "kofi", "lena")
FIRST += ("marco", "nadia", "oscar", "priya", "quinn", "rosa", "sven", "tariq", "una", "victor", "wei", "zoe")
LAST: tuple[str, ...]  # grown below: of any length
LAST = ("anderson", "becker", "chen", "dubois", "evans", "fischer", "garcia", "haddad", "ivanova", "jensen")
LAST += ("kowalski", "lopez", "moreau", "nakamura", "okafor", "patel", "rossi", "schmidt", "tanaka", "yilmaz")
COMPANIES: tuple[str, ...]  # grown below: of any length
COMPANIES = ("acme", "globex", "initech", "umbrella-health", "northwind", "contoso", "fabrikam", "hooli")
COMPANIES += ("vandelay", "soylent", "tyrell", "wayne-ent")
MAIL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.co.uk", "posteo.de", "proton.me", "icloud.com", "web.de")
TLDS = ("com", "io", "net", "org", "co.uk", "de", "fr", "ai", "dev")
US_AREA = (201, 202, 206, 212, 213, 303, 305, 312, 404, 415, 503, 512, 617, 646, 702, 713, 718, 805, 917, 971)
ALNUM = string.ascii_letters + string.digits
TOKEN = ALNUM + "_-"
B64 = string.ascii_letters + string.digits + "+/"
HEX = "0123456789abcdef"
UPPER32 = string.ascii_uppercase + "234567"

# A field of a template: ("planted" or "kept", kind, value). Plain strings are context, not recorded.
Field = tuple[str, str, str]
MARK = re.compile(r"\[\[(\w+)\]\]")


def plant(kind: str, value: str) -> Field:
    return ("planted", kind, value)


def keep(kind: str, value: str) -> Field:
    return ("kept", kind, value)


@dataclass
class Doc:
    """A text under construction with what was planted in it and the look-alikes it holds."""

    genre: str
    parts: list[str] = field(default_factory=list)
    planted: list[tuple[str, str]] = field(default_factory=list)
    lookalikes: list[tuple[str, str]] = field(default_factory=list)

    def fill(self, template: str, **fields: Field | str) -> Doc:
        """Append ``template`` with each ``[[name]]`` replaced by its field's value, recording the fields."""

        def value(match: re.Match[str]) -> str:
            given = fields[match.group(1)]
            if isinstance(given, str):
                return given
            role, kind, text = given
            target = self.planted if role == "planted" else self.lookalikes
            if (kind, text) not in target:
                target.append((kind, text))
            return text

        self.parts.append(MARK.sub(value, template))
        return self

    @property
    def text(self) -> str:
        return "".join(self.parts)


class Values:
    """Fake values of every kind, drawn from one seeded random generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def pick(self, items: tuple[str, ...]) -> str:
        return self.rng.choice(items)

    def number(self, low: int, high: int) -> str:
        return str(self.rng.randrange(low, high))

    def chars(self, alphabet: str, size: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(size))

    def mixed(self, alphabet: str, size: int) -> str:
        """Random characters with a digit, a lowercase and an uppercase letter when the alphabet has them."""
        needs = [set(string.digits), set(string.ascii_lowercase), set(string.ascii_uppercase)]
        while True:
            value = self.chars(alphabet, size)
            if all(not (need & set(alphabet)) or need & set(value) for need in needs):
                return value

    def person(self) -> str:
        return f"{self.pick(FIRST).capitalize()} {self.pick(LAST).capitalize()}"

    def domain(self) -> str:
        return f"{self.pick(COMPANIES)}.{self.pick(TLDS)}"

    # -- planted kinds ---------------------------------------------------------------------------------------------

    def email(self) -> str:
        first, last = self.pick(FIRST), self.pick(LAST)
        style = self.rng.randrange(6)
        if style == 0:
            return f"{first}.{last}@{self.domain()}"
        if style == 1:
            return f"{first[0]}{last}@{self.domain()}"
        if style == 2:
            return f"{first}.{last}+{self.pick(('billing', 'news', 'work', 'ai'))}@{self.pick(MAIL_DOMAINS)}"
        if style == 3:
            return f"{first.capitalize()}.{last.capitalize()}@{self.domain()}"
        if style == 4:
            return f"{first}_{last}{self.number(10, 99)}@{self.pick(MAIL_DOMAINS)}"
        return f"{last}.{first[0]}@mail.{self.pick(COMPANIES)}.{self.pick(('com', 'org', 'edu'))}"

    def phone(self) -> str:
        """A number in a numbering plan in use, written as people write it."""
        while True:
            value = self._phone_shape()
            number = phonenumbers.parse(value, None if value.startswith("+") else "US")
            if phonenumbers.is_valid_number(number):
                return value

    def _phone_shape(self) -> str:
        rng = self.rng
        area, exchange, line = rng.choice(US_AREA), rng.randrange(200, 999), rng.randrange(0, 9999)
        shapes = (
            f"({area}) {exchange}-{line:04d}",
            f"{area}-{exchange}-{line:04d}",
            f"{area}.{exchange}.{line:04d}",
            f"+1 {area} {exchange} {line:04d}",
            f"+1-{area}-{exchange}-{line:04d}",
            f"+1{area}{exchange}{line:04d}",
            f"+44 20 7{self.number(100, 999)} {self.number(1000, 9999)}",
            f"+44 7{self.number(400, 999)} {self.number(100000, 999999)}",
            f"+49 30 {self.number(1000000, 99999999)}",
            "+33 6 " + " ".join(self.number(10, 99) for _ in range(4)),
            f"+91 9{self.number(1000, 9999)} {self.number(10000, 99999)}",
            f"+61 4{self.number(10, 99)} {self.number(100, 999)} {self.number(100, 999)}",
        )
        return rng.choice(shapes)

    def bare_phone(self) -> str:
        """Ten digits with no separator, as a form field shows a number: a phone only next to a word like "cell"."""
        while True:
            digits = f"{self.rng.choice(US_AREA)}{self.number(200, 999)}{self.rng.randrange(0, 9999):04d}"
            if phonenumbers.is_valid_number(phonenumbers.parse(digits, "US")):
                return digits

    def card(self) -> str:
        rng = self.rng
        prefix, size = rng.choice(
            (
                ("4", 16),
                (self.number(51, 56), 16),
                (self.number(2221, 2721), 16),
                (rng.choice(("34", "37")), 15),
                (rng.choice(("6011", "65")), 16),
                (self.number(3528, 3590), 16),
            )
        )
        body = prefix + "".join(str(rng.randrange(10)) for _ in range(size - len(prefix) - 1))
        digits = body + luhn_digit(body)
        groups = [digits[:4], digits[4:10], digits[10:]] if size == 15 else [digits[i : i + 4] for i in range(0, 16, 4)]
        return rng.choice((" ".join(groups), "-".join(groups), digits))

    def ip(self) -> str:
        rng = self.rng
        style = rng.randrange(6)
        if style == 0:
            return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        if style == 1:
            return f"192.168.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        if style == 5:
            groups = [f"{rng.randrange(0x2001, 0x2A10):x}"] + [f"{rng.randrange(65536):x}" for _ in range(7)]
            return ":".join(groups) if rng.random() < 0.5 else ":".join(groups[:3]) + "::" + ":".join(groups[5:])
        while True:
            first = rng.randrange(11, 223)
            if first not in (127, 169, 172, 192):
                return f"{first}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"

    def password(self) -> str:
        rng = self.rng
        style = rng.randrange(4)
        if style == 0:
            word = self.pick(("Summer", "Falcon", "Orchid", "Granite", "Tiger", "Nebula", "Harbor", "Maple"))
            return f"{word}{self.number(10, 9999)}{rng.choice('!#$%&*?')}{self.chars(ALNUM, 3)}"
        if style == 1:
            return self.mixed(ALNUM + "!#%&*+-=?@^_~", rng.randrange(12, 25))
        if style == 2:
            return self.mixed(ALNUM, rng.randrange(16, 33))
        return self.mixed(ALNUM + "!*-_.~", rng.randrange(10, 18))

    def url_password(self) -> str:
        return self.mixed(ALNUM + "-_.~!*", self.rng.randrange(10, 22))

    def api_key(self) -> str:
        rng = self.rng

        def big() -> str:
            return self.number(10**10, 10**12)

        shapes: tuple[Callable[[], str], ...] = (
            lambda: f"sk-{self.mixed(ALNUM, 20)}T3BlbkFJ{self.mixed(ALNUM, 20)}",
            lambda: (
                f"sk-proj-{self.mixed(TOKEN, rng.randrange(40, 75))}T3BlbkFJ{self.mixed(TOKEN, rng.randrange(40, 75))}"
            ),
            lambda: f"sk-ant-api03-{self.mixed(TOKEN, 93)}AA",
            lambda: self.pick(("AKIA", "ASIA")) + self.chars(UPPER32, 16),
            lambda: f"{self.pick(('ghp', 'gho', 'ghs'))}_{self.mixed(ALNUM, 36)}",
            lambda: f"github_pat_{self.mixed(ALNUM, 22)}_{self.mixed(ALNUM, 59)}",
            lambda: f"xoxb-{big()}-{big()}-{self.mixed(ALNUM, 24)}",
            lambda: f"xoxp-{big()}-{big()}-{big()}-{self.chars(HEX, 32)}",
            lambda: f"AIza{self.mixed(TOKEN, 35)}",
            lambda: f"{self.pick(('sk', 'rk'))}_live_{self.mixed(ALNUM, rng.choice((24, 99)))}",
            lambda: f"hf_{self.mixed(string.ascii_letters, 34)}",
            lambda: f"glpat-{self.mixed(TOKEN, 20)}",
            lambda: f"SG.{self.mixed(TOKEN, 22)}.{self.mixed(TOKEN, 43)}",
            lambda: f"npm_{self.mixed(ALNUM, 36)}",
        )
        return rng.choice(shapes)()

    def slack_webhook_path(self) -> str:
        ids = string.ascii_uppercase + string.digits
        return f"T{self.chars(ids, 9)}/B{self.chars(ids, 9)}/{self.mixed(ALNUM, 24)}"

    def jwt(self) -> str:
        rng = self.rng
        header: dict[str, str] = {"alg": self.pick(("HS256", "RS256", "ES256")), "typ": "JWT"}
        if header["alg"] != "HS256":
            header["kid"] = self.chars(ALNUM, 12)
        issued = rng.randrange(1_690_000_000, 1_730_000_000)
        payload = {"sub": self.uuid(), "name": self.person(), "iat": issued, "exp": issued + 3600}
        payload["scope"] = self.pick(("read", "read write", "admin"))
        signature = bytes(rng.randrange(256) for _ in range(rng.choice((32, 64, 256))))
        parts = (json.dumps(header).encode(), json.dumps(payload).encode(), signature)
        return ".".join(base64.urlsafe_b64encode(part).rstrip(b"=").decode() for part in parts)

    def private_key(self) -> str:
        kind = self.pick(("RSA ", "EC ", "OPENSSH ", "", "ENCRYPTED "))
        size = {"RSA ": 1190, "EC ": 160, "OPENSSH ": 380, "": 1210, "ENCRYPTED ": 1250}[kind]
        body = self.b64_blob(size)
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        return "\n".join([f"-----BEGIN {kind}PRIVATE KEY-----", *lines, f"-----END {kind}PRIVATE KEY-----"])

    # -- look-alikes -----------------------------------------------------------------------------------------------

    def sha(self, size: int = 40) -> str:
        while True:
            value = self.chars(HEX, size)
            if not value.isdigit() and not value.isalpha():
                return value

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def version(self) -> str:
        return f"{self.number(0, 12)}.{self.number(0, 30)}.{self.number(0, 40)}"

    def order_number(self) -> str:
        """Sixteen digits, grouped like a card number, that fail the Luhn check."""
        while True:
            digits = "".join(str(self.rng.randrange(10)) for _ in range(16))
            if digits[0] != "0" and not luhn_ok(digits):
                return self.pick((" ", "-", "")).join(digits[i : i + 4] for i in range(0, 16, 4))

    def date(self) -> str:
        rng = self.rng
        year, month, day = rng.randrange(2019, 2026), rng.randrange(1, 13), rng.randrange(1, 29)
        hour, minute, second = rng.randrange(24), rng.randrange(60), rng.randrange(60)
        return rng.choice(
            (
                f"{year}-{month:02d}-{day:02d}",
                f"{day:02d}/{month:02d}/{year}",
                f"{year}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}Z",
                f"{year}{month:02d}{day:02d}",
                f"{year}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}",
            )
        )

    def b64_blob(self, size: int) -> str:
        return base64.b64encode(bytes(self.rng.randrange(256) for _ in range(size))).decode()


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def luhn_digit(body: str) -> str:
    return next(d for d in "0123456789" if luhn_ok(body + d))


# ---------------------------------------------------------------------------------------------------------------
# Genres: each builds one realistic text


def system_prompt(v: Values) -> Doc:
    company = v.pick(COMPANIES)
    return Doc("agent-system-prompt").fill(
        """You are HelpDesk, the support agent of [[company]] (agent build [[build]], prompt revision [[rev]]).

Rules:
- Escalate billing disputes to [[person]] at [[email]] or by phone on [[phone]].
- Tenant id: [[tenant]]. Today is [[date]].
- Use the tool `lookup_order(order_id: str)`; never print the value of `api_key` or `token_count` to users.
- Internal search API: https://search.[[host]].internal:[[port]]/v2 with header `X-Api-Key: [[header_key]]`.
- The backup model key is [[key]]; do not reveal it.
- Refer to the config via [[reference]], never inline it.
""",
        company=company.capitalize(),
        host=company,
        build=keep("version", v.version()),
        rev=keep("git-sha", v.sha(7)),
        person=v.person(),
        email=plant("email", v.email()),
        phone=plant("phone", v.phone()),
        tenant=keep("uuid", v.uuid()),
        date=keep("date", v.date()),
        port=keep("port", v.pick(("8080", "8443", "9200"))),
        header_key=plant("secret", v.mixed(ALNUM, 32)),
        key=plant("api-key", v.api_key()),
        reference=keep("env-reference", "${SUPPORT_API_KEY}"),
    )


def support_ticket(v: Values) -> Doc:
    return Doc("support-ticket").fill(
        """Ticket [[ticket]] opened [[date]] by [[person]] <[[email]]>, callback [[phone]].
Customer says the card [[card]] was charged twice for order [[order]] (invoice [[invoice]]).
Checkout came from IP [[ip]]; session [[session]]. App version [[app]] on iOS [[ios]].
Payment processor reference [[reference]].
""",
        ticket=keep("ticket-number", "INC" + v.number(10**6, 10**7)),
        date=keep("date", v.date()),
        person=v.person(),
        email=plant("email", v.email()),
        phone=plant("phone", v.phone()),
        card=plant("card", v.card()),
        order=keep("order-number", v.order_number()),
        invoice=keep("invoice", f"INV-{v.number(2019, 2026)}-{v.number(10000, 99999)}"),
        ip=plant("ip", v.ip()),
        session=keep("uuid", v.uuid()),
        app=keep("version", v.version()),
        ios=keep("version", f"{v.number(14, 18)}.{v.number(0, 7)}"),
        reference=keep("hex-id", v.sha(32)),
    )


def python_snippet(v: Values) -> Doc:
    user = v.pick(("app", "admin", "svc_orders", "postgres", "reporting"))
    return Doc("code-python").fill(
        '''```python
import hashlib
import os
from openai import OpenAI

__version__ = "[[version]]"
BUILD_COMMIT = "[[commit]]"
DATABASE_URL = "postgresql://[[credentials]]@db.[[domain]]:5432/orders"
client = OpenAI(api_key="[[key]]")
fallback = OpenAI(api_key=[[reference]])


def [[function]](user_id: str, password: str) -> bool:
    """Check a login; see [[path]]."""
    expected = "[[digest]]"  # sha256 of the fixture
    [[constant]] = 12
    return hashlib.sha256(password.encode()).hexdigest() == expected


SECRET_KEY = "[[django]]"
```
''',
        version=keep("version", v.version()),
        commit=keep("git-sha", v.sha()),
        credentials=plant("url-credentials", f"{user}:{v.url_password()}"),
        domain=v.domain(),
        key=plant("api-key", v.api_key()),
        reference=keep("env-reference", 'os.environ["OPENAI_API_KEY"]'),
        function=keep("identifier", v.pick(("get_api_key", "validate_token", "rotate_secret", "refresh_token"))),
        path=keep("file-path", "/srv/app/src/auth/" + v.pick(("token_cache.py", "passwords.py", "keys.py"))),
        digest=keep("sha256", v.sha(64)),
        constant=keep("identifier", "PASSWORD_MIN_LENGTH"),
        django=plant("secret", "django-insecure-" + v.mixed(ALNUM + "!@#%^&*(-_=+)", 50)),
    )


def env_config(v: Values) -> Doc:
    ip = v.ip()
    return Doc("config-env").fill(
        """# .env for the staging deploy
APP_ENV=staging
PORT=[[port]]
RELEASE=[[release]]
DB_PASSWORD=[[password]]
REDIS_URL=redis://[[redis]]@[[open]][[ip]][[close]]:6379/0
STRIPE_SECRET_KEY=[[stripe]]
AWS_ACCESS_KEY_ID=[[aws_id]]
AWS_SECRET_ACCESS_KEY=[[aws_secret]]
IMAGE=[[image]]
BIND_ADDR=[[bind]]
LOG_LEVEL=info
CACHE_KEY_PREFIX=[[prefix]]
""",
        port=keep("port", v.pick(("3000", "5000", "8000", "8080"))),
        release=keep("version", "v" + v.version()),
        password=plant("secret", v.password()),
        redis=plant("url-credentials", ":" + v.url_password()),
        ip=plant("ip", ip),
        open="[" if ":" in ip else "",
        close="]" if ":" in ip else "",
        stripe=plant("api-key", v.api_key()),
        aws_id=plant("api-key", "AKIA" + v.chars(UPPER32, 16)),
        aws_secret=plant("secret", v.mixed(B64, 40)),
        image=keep("docker-digest", "python@sha256:" + v.sha(64)),
        bind=keep("localhost", "0.0.0.0"),
        prefix=keep("identifier", "orders_v2"),
    )


def yaml_config(v: Values) -> Doc:
    return Doc("config-yaml").fill(
        """Here is my docker-compose file, why does the worker not start?

```yaml
services:
  api:
    image: ghcr.io/[[company]]/api:[[version]]
    ports:
      - "[[bind]]:8000"
    environment:
      DATABASE_URL: mysql://[[credentials]]@mysql:3306/app
      SMTP_PASSWORD: "[[smtp]]"
      SENTRY_RELEASE: [[release]]
      MAX_TOKENS: "[[max_tokens]]"
      TOKENIZER: [[tokenizer]]
      JWT_SECRET: [[jwt_secret]]
      ADMIN_EMAIL: [[email]]
  worker:
    command: celery -A app worker --hostname=[[hostname]]
```
""",
        company=v.pick(COMPANIES),
        version=keep("version", v.version()),
        bind=keep("port", "127.0.0.1:8000"),
        credentials=plant("url-credentials", v.pick(("root", "app", "wp")) + ":" + v.url_password()),
        smtp=plant("secret", v.password()),
        release=keep("git-sha", v.sha()),
        max_tokens=keep("number", v.pick(("1024", "2048", "4096", "8192"))),
        tokenizer=keep("identifier", "cl100k_base"),
        jwt_secret=plant("secret", v.mixed(HEX, 64)),
        email=plant("email", v.email()),
        hostname=keep("identifier", "worker1@%h"),
    )


def json_tool_call(v: Values) -> Doc:
    """Tool calls as agents log them: JSON text inside JSON, a service-account key with escaped newlines."""
    doc = Doc("tool-call-json")
    token, cwd = v.mixed(ALNUM, 40), f"/home/dev/{v.pick(COMPANIES)}/service"
    command = f'curl -s -H "Authorization: Bearer {token}" https://api.{v.domain()}/v1/users?page=2'
    arguments = json.dumps({"command": command, "cwd": cwd, "timeout": 30})
    doc.fill(
        '{"name": "execute_bash", "arguments": [[arguments]]}\n',
        arguments=json.dumps(arguments),
    )
    doc.planted.append(("secret", token))
    doc.lookalikes.append(("file-path", cwd))
    key, company = v.private_key(), v.pick(COMPANIES)
    email = f"deploy-bot@{company}-prod.iam.gserviceaccount.com"
    account = {
        "type": "service_account",
        "project_id": f"{company}-prod",
        "private_key_id": v.sha(40),
        "private_key": key + "\n",
        "client_email": email,
        "client_id": v.number(10**20, 10**21),
    }
    doc.fill("write_file(path='/tmp/sa.json', content=[[content]])\n", content=json.dumps(account))
    doc.planted += [("private-key", json.dumps(key)[1:-1]), ("email", email)]
    doc.lookalikes += [("hex-id", str(account["private_key_id"])), ("number", str(account["client_id"]))]
    return doc


def log_lines(v: Values) -> Doc:
    doc = Doc("logs").fill("Summarize the errors in these logs:\n\n")
    lines = (
        "[[stamp]] [[level]] request from [[ip]] user=[[email]] trace_id=[[trace]] status=401\n",
        "[[stamp]] [[level]] auth header: Bearer [[jwt]]\n",
        "[[stamp]] [[level]] deploy [[sha]] to [[local]] pid=[[pid]]\n",
        "[[stamp]] [[level]] upstream [[ip]] timed out after 30s (request [[request]])\n",
        "[[stamp]] [[level]] checksum mismatch md5=[[md5]] expected [[md5b]]\n",
    )
    for _ in range(v.rng.randrange(3, 6)):
        doc.fill(
            v.pick(lines),
            stamp=keep("date", v.date()),
            level=v.pick(("INFO", "WARN", "ERROR")),
            ip=plant("ip", v.ip()),
            email=plant("email", v.email()),
            trace=keep("hex-id", v.sha(32)),
            jwt=plant("jwt", v.jwt()),
            sha=keep("git-sha", v.sha(7)),
            local=keep("localhost", "localhost:" + v.number(3000, 9000)),
            pid=keep("number", v.number(1000, 99999)),
            request=keep("uuid", v.uuid()),
            md5=keep("md5", v.sha(32)),
            md5b=keep("md5", v.sha(32)),
        )
    return doc


def crm_note(v: Values) -> Doc:
    return Doc("crm-note").fill(
        """Call note [[date]]: spoke with [[person]] (mobile [[phone]], [[email]]).
They want to switch plans; paid with card [[card]] exp [[exp]].
Contract [[contract]], account #[[account]]. Follow-up in JIRA [[jira]]. Shipment tracking [[tracking]].
Alt contact: [[phone2]]. Previous order [[order]].
""",
        date=keep("date", v.date()),
        person=v.person(),
        phone=plant("phone", v.phone()),
        email=plant("email", v.email()),
        card=plant("card", v.card()),
        exp=f"{v.rng.randrange(1, 13):02d}/{v.number(26, 31)}",
        contract=keep("uuid", v.uuid()),
        account=keep("account-number", v.number(10**5, 10**6)),
        jira=keep("ticket-number", "CRM-" + v.number(100, 9999)),
        tracking=keep("tracking", "1Z" + v.chars(string.ascii_uppercase + string.digits, 16)),
        phone2=plant("phone", v.phone()),
        order=keep("order-number", v.order_number()),
    )


def email_message(v: Values) -> Doc:
    person = v.person()
    return Doc("email").fill(
        """From: [[person]] <[[sender]]>
To: [[to]]
Date: [[date]]
Subject: staging access

Hi,

as promised, the deploy key for the staging box at [[ip]]:

[[key]]

Its fingerprint is SHA256:[[fingerprint]]. The box runs kernel [[kernel]] and the repo is [[remote]].
The wifi password is [[wifi]] (rotate it Friday).

Best,
[[first]]
[[phone]]
""",
        person=person,
        first=person.split()[0],
        sender=plant("email", v.email()),
        to=plant("email", v.email()),
        date=keep("date", v.date()),
        ip=plant("ip", v.ip()),
        key=plant("private-key", v.private_key()),
        fingerprint=keep("base64", v.b64_blob(32).rstrip("=")),
        kernel=keep("version", v.version()),
        remote=keep("git-remote", f"git@github.com:{v.pick(COMPANIES)}/infra.git"),
        wifi=plant("secret", v.password()),
        phone=plant("phone", v.phone()),
    )


def shell_session(v: Values) -> Doc:
    return Doc("shell").fill(
        """I ran this and got AccessDenied, what's wrong?

$ export AWS_ACCESS_KEY_ID=[[aws_id]]
$ export AWS_SESSION_TOKEN=[[session]]
$ git clone https://[[credentials]]@gitlab.[[domain]]/platform/[[repo]].git
$ ssh -p [[port]] deploy@[[ip]] 'cat /etc/os-release'
VERSION_ID="[[os]]"
$ pip install requests==[[requests]]
$ docker run --rm -e GITHUB_TOKEN=[[token]] [[image]]
$ echo [[reference]] | wc -c
41
$ ping -c1 [[loopback]]
""",
        aws_id=plant("api-key", "ASIA" + v.chars(UPPER32, 16)),
        session=plant("secret", v.mixed(B64, 120)),
        credentials=plant("url-credentials", "oauth2:glpat-" + v.mixed(TOKEN, 20)),
        domain=v.domain(),
        repo=keep("identifier", "infra-live"),
        port=keep("port", "2222"),
        ip=plant("ip", v.ip()),
        os=keep("version", "22.04"),
        requests=keep("version", v.version()),
        token=plant("api-key", v.api_key()),
        image=keep("docker-image", f"{v.pick(COMPANIES)}/ci:{v.version()}"),
        reference=keep("env-reference", "$GITHUB_TOKEN"),
        loopback=keep("localhost", "127.0.0.1"),
    )


def chat_message(v: Values) -> Doc:
    templates = (
        "hey, the webhook stopped working: https://hooks.slack.com/services/[[hook]] returns 404 since [[date]]. "
        "my slack bot token is [[key]] if you need it\n",
        "Can you decode this token and tell me why it's rejected? [[jwt]]\n"
        "The server runs on [[ip]] port [[port]], request id [[request]].\n",
        "my login is [[email]] and the password is [[password]], can you check why 2FA fails? "
        "phone on file [[phone]]\n",
        "Use this key for the test: [[key]]\n(the old one, [[old]], was revoked on [[date]])\n",
    )
    return Doc("chat").fill(
        v.pick(templates),
        hook=plant("api-key", v.slack_webhook_path()),
        date=keep("date", v.date()),
        key=plant("api-key", v.api_key()),
        jwt=plant("jwt", v.jwt()),
        ip=plant("ip", v.ip()),
        port=keep("port", "443"),
        request=keep("uuid", v.uuid()),
        email=plant("email", v.email()),
        password=plant("secret", v.password()),
        phone=plant("phone", v.phone()),
        old=keep("placeholder", "sk-..." + v.chars(ALNUM, 4)),
    )


def js_snippet(v: Values) -> Doc:
    return Doc("code-js").fill(
        """Refactor this to use async/await:

```js
const stripe = require('stripe')(process.env.[[env]]);
const config = {
  apiKey: '[[key]]',
  authDomain: '[[company]].firebaseapp.com',
  projectVersion: '[[version]]',
  clientSecret: "[[secret]]",
  tokenTtl: [[ttl]],
};
const id = '[[id]]';
const color = '#[[color]]';
fetch('https://[[credentials]]@[[domain]]/v1/export', { method: 'POST' })
  .then(r => r.json());
// see [[path]] and [[package]]
```
""",
        env=keep("identifier", "STRIPE_SECRET_KEY"),
        key=plant("api-key", v.api_key()),
        company=v.pick(COMPANIES),
        version=keep("version", v.version()),
        secret=plant("secret", v.mixed(ALNUM, 32)),
        ttl=keep("number", "3600"),
        id=keep("uuid", v.uuid()),
        color=keep("hex-color", v.sha(6)),
        credentials=plant("url-credentials", "api:" + v.url_password()),
        domain=v.domain(),
        path=keep("file-path", "./src/lib/tokenizer.js"),
        package=keep("npm-package", "@types/node@" + v.version()),
    )


def csv_export(v: Values) -> Doc:
    doc = Doc("csv-export").fill(
        "Clean up this CSV export and fill in missing countries:\n\nname,email,phone,card_last_use,ip,signup\n"
    )
    for _ in range(v.rng.randrange(2, 5)):
        doc.fill(
            "[[person]],[[email]],[[phone]],[[card]],[[ip]],[[date]]\n",
            person=v.person(),
            email=plant("email", v.email()),
            phone=plant("phone", v.phone()),
            card=plant("card", v.card()),
            ip=plant("ip", v.ip()),
            date=keep("date", v.date()),
        )
    return doc.fill(
        "# exported by report [[report]] (schema [[schema]])\n",
        report=keep("uuid", v.uuid()),
        schema=keep("version", v.version()),
    )


def http_request(v: Values) -> Doc:
    return Doc("http").fill(
        """Why does this request return 403?

POST /v1/charges HTTP/1.1
Host: api.[[domain]]
User-Agent: Mozilla/5.0 [[agent]] Safari/537.36
Authorization: Bearer [[jwt]]
Cookie: theme=dark; session=[[cookie]]
X-Request-Id: [[request]]
X-Forwarded-For: [[ip]], [[ip2]]
If-None-Match: "[[etag]]"
Content-Type: application/json

{"amount": 4200, "currency": "usd", "card": "[[card]]", "receipt_email": "[[email]]", "idempotency": "[[key]]"}
""",
        domain=v.domain(),
        agent=keep("user-agent", f"Chrome/{v.number(100, 125)}.0.0.0"),
        jwt=plant("jwt", v.jwt()),
        cookie=plant("secret", v.mixed(ALNUM, 32)),
        request=keep("uuid", v.uuid()),
        ip=plant("ip", v.ip()),
        ip2=plant("ip", v.ip()),
        etag=keep("etag", v.sha(40)),
        card=plant("card", v.card()),
        email=plant("email", v.email()),
        key=keep("hex-id", v.sha(32)),
    )


def docs_page(v: Values) -> Doc:
    """A README-style page: configuration examples that name secrets without holding any."""
    return Doc("docs").fill(
        """## Configuration

Set your key in the environment, e.g. `export OPENAI_API_KEY=[[placeholder]]` or in `settings.toml`:

```toml
api_key = "[[reference]]"
password = "[[mask]]"
secret_name = "[[secret_name]]"
max_tokens = [[max_tokens]]
```

Requires Python [[python]] and node [[node]]; tested on [[gateway]] of the gateway with [[loopback]] and [[mask4]].
ISBN [[isbn]]. Image assets: [[image]]; OID [[oid]]; see `[[identifier]]`.
Example payload: [[payload]]
Lookup role [[arn]] at [[date]].
Timestamps are epoch seconds ([[seconds]]) or ms ([[millis]]).
""",
        placeholder=keep("placeholder", "your-api-key-here"),
        reference=keep("env-reference", "${OPENAI_API_KEY}"),
        mask=keep("placeholder", "********"),
        secret_name=keep("identifier", "prod/db/credentials"),
        max_tokens=keep("number", "4096"),
        python=keep("version", "3.11.4"),
        node=keep("version", "v18.17.1"),
        gateway=keep("version", "version 1.2.3.4"),
        loopback=keep("localhost", "::1"),
        mask4=keep("netmask", "255.255.255.0"),
        isbn=keep("isbn", "978-0-13-468599-1"),
        image=keep("file-path", "logo@2x.png"),
        oid=keep("oid", "1.3.6.1.4.1.311"),
        identifier=keep("identifier", "std::vector"),
        payload=keep("base64", "data:image/png;base64," + v.b64_blob(48)),
        arn=keep("arn", f"arn:aws:iam::{v.number(10**11, 10**12)}:role/deploy"),
        date=keep("date", v.date()),
        seconds=keep("timestamp", v.number(1_600_000_000, 1_760_000_000)),
        millis=keep("timestamp", v.number(1_600_000_000_000, 1_760_000_000_000)),
    )


def escaped_transcript(v: Values) -> Doc:
    """A tool result kept as a JSON string inside a JSON message: every newline is the two characters \\n."""
    doc = Doc("json-escaped")
    inner = Doc("json-escaped").fill(
        """Customer: [[person]]
Email: [[email]]
Phone: [[phone]]
Card number: [[card]]
Last login from [[ip]] at [[date]]
Order ref: [[order]]
api_key: [[key]]
Note: reset token [[token]] sent""",
        person=v.person(),
        email=plant("email", v.email()),
        phone=plant("phone", v.phone()),
        card=plant("card", v.card()),
        ip=plant("ip", v.ip()),
        date=keep("date", v.date()),
        order=keep("order-number", v.order_number()),
        key=plant("api-key", v.api_key()),
        token=plant("secret", v.mixed(ALNUM, 24)),
    )
    doc.fill(
        '{"role": "tool", "tool_call_id": "call_[[call]]", "content": [[content]]}\n',
        call=v.chars(ALNUM, 24),
        content=json.dumps(inner.text),
    )
    doc.planted, doc.lookalikes = inner.planted, inner.lookalikes
    return doc


def ops_chat(v: Values) -> Doc:
    """An on-call thread: credentials pasted in prose, numbers that are not phones, keys that are public."""
    first, last = v.pick(FIRST), v.pick(LAST)
    return Doc("ops-chat").fill(
        """[[a]]: prod db is down again. creds are user `ops` pwd: [[pwd]]
[[b]]: don't paste passwords here! rotating. [[policy]].
[[a]]: ok. the new replica is [[[ip]]]:5432 and the old one [[ip2]]/24 is gone
[[b]]: PGPASSWORD=[[pg]] psql -h db -U ops -c 'select 1'
[[a]]: call my cell [[cell]] if it pages again, or text [[phone]]
[[b]]: order [[order]] failed too; [[rows]] rows affected, took [[ms]] ms
[[a]]: my ssh key: [[public]] [[a]]@laptop
[[b]]: lockfile says [[integrity]] for [[package]]
[[a]]: [[bearer]] with the header, token usage was [[usage]] tokens
[[b]]: deploy [[deploy]] went out at [[time]]; price is now [[price]]
[[a]]: here's the map with my key https://maps.googleapis.com/maps/api/js?key=[[google]]&v=weekly
[[b]]: git config: url=https://[[credentials]]@git.[[domain]]/ops.git
[[a]]: and the old health check: curl -H 'Authorization: Basic [[basic]]' https://status.[[domain]]/ping
""",
        a=first,
        b=last,
        pwd=plant("secret", v.password()),
        policy=keep("prose", "Password must be at least 12 characters"),
        ip=plant("ip", v.ip()),
        ip2=plant("ip", v.ip()),
        pg=plant("secret", v.password()),
        cell=plant("phone", v.bare_phone()),
        phone=plant("phone", v.phone()),
        order=keep("order-number", v.number(10**9, 10**10)),
        rows=keep("number", f"{v.number(1000, 9999)} {v.number(100, 999)}"),
        ms=keep("number", v.number(1000000, 9999999)),
        public=keep("public-key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + v.chars(B64, 43)),
        integrity=keep("integrity", "sha512-" + v.b64_blob(64)),
        package=keep("npm-package", "lodash@4.17.21"),
        bearer=keep("prose", "use Bearer authentication"),
        usage=keep("number", v.number(100, 99999)),
        deploy=keep("version", f"v{v.version()}.{v.number(1, 9)}"),
        time=keep("time", f"{v.number(10, 23)}:{v.number(10, 59)}"),
        price=keep("amount", f"${v.number(1, 9)},{v.number(100, 999)}.00"),
        google=plant("api-key", "AIza" + v.mixed(TOKEN, 35)),
        credentials=plant("url-credentials", first + ":" + v.url_password().replace("!", "%21")),
        domain=v.domain(),
        basic=plant("secret", base64.b64encode(f"{first}:{v.password()}".encode()).decode()),
    )


def signature(v: Values) -> Doc:
    """An e-mail signature: national phone formats after T:/M:, company domains on newer top-level domains."""
    first, last = v.pick(FIRST), v.pick(LAST)
    company = v.pick(COMPANIES)
    national = v.pick(("020 7946 " + v.number(1000, 9999), "030 " + v.number(1000000, 9999999), "01 42 68 53 00"))
    national = national if phonenumbers.is_valid_number(phonenumbers.parse(national, "GB")) else "020 7946 0018"
    return Doc("signature").fill(
        """Thanks for the quick turnaround on [[ticket]]!

--
[[name]] | Head of Operations, [[company]]
T: [[landline]] | M: [[mobile]]
[[email]] | [[web]]
Please consider the environment before printing this e-mail. Ref [[ref]]
""",
        ticket=keep("ticket-number", f"#{v.number(1000, 99999)}"),
        name=f"{first.capitalize()} {last.capitalize()}",
        company=company.capitalize(),
        landline=plant("phone", national),
        mobile=plant("phone", v.phone()),
        email=plant("email", f"{first}.{last}@{company}.{v.pick(('consulting', 'agency', 'studio', 'io', 'group'))}"),
        web=keep("url", f"https://www.{company}.com"),
        ref=keep("uuid", v.uuid()),
    )


GENRES: tuple[Callable[[Values], Doc], ...] = (
    system_prompt,
    support_ticket,
    python_snippet,
    env_config,
    yaml_config,
    json_tool_call,
    log_lines,
    crm_note,
    email_message,
    shell_session,
    chat_message,
    js_snippet,
    csv_export,
    http_request,
    docs_page,
    escaped_transcript,
    ops_chat,
    signature,
)


def check(doc: Doc) -> bool:
    """Every value occurs in the text, and no look-alike is part of a planted value (or the reverse)."""
    text = doc.text
    if any(value not in text for _, value in doc.planted + doc.lookalikes):
        raise AssertionError(f"{doc.genre}: a recorded value is not in the text")
    return not any(kept in planted or planted in kept for _, planted in doc.planted for _, kept in doc.lookalikes)


def build_corpus(seed: int = SEED) -> list[dict[str, object]]:
    """Records, genre after genre, until every kind has PER_KIND planted values and there are LOOKALIKES kept."""
    values = Values(random.Random(seed))
    records: list[dict[str, object]] = []
    planted: Counter[str] = Counter()
    kept = 0
    index = 0
    while min(planted[k] for k in KINDS) < PER_KIND or kept < LOOKALIKES:
        doc = GENRES[index % len(GENRES)](values)
        index += 1
        if not check(doc):
            continue  # a rare collision between two random values: the next genre draws afresh
        records.append(
            {
                "id": f"redaction-{len(records):04d}",
                "genre": doc.genre,
                "text": doc.text,
                "planted": [{"kind": k, "value": val} for k, val in doc.planted],
                "lookalikes": [{"kind": k, "value": val} for k, val in doc.lookalikes],
            }
        )
        planted.update(k for k, _ in doc.planted)
        kept += len(doc.lookalikes)
    return records


@dataclass
class Score:
    """How a redactor did on the corpus: planted values gone (recall), look-alikes gone (should be none)."""

    planted: Counter[str] = field(default_factory=Counter)
    missed: Counter[str] = field(default_factory=Counter)
    kept: Counter[str] = field(default_factory=Counter)
    redacted: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return 1 - sum(self.missed.values()) / max(1, sum(self.planted.values()))

    @property
    def lookalike_rate(self) -> float:
        return sum(self.redacted.values()) / max(1, sum(self.kept.values()))

    def lines(self) -> list[str]:
        """The figures as a printable table: overall, then one line per planted kind and per look-alike kind."""
        total, kept = sum(self.planted.values()), sum(self.kept.values())
        out = [
            f"recall {self.recall:.4f} ({total - sum(self.missed.values())}/{total} planted values removed)",
            f"look-alikes redacted {self.lookalike_rate:.4f} ({sum(self.redacted.values())}/{kept})",
        ]
        for kind in sorted(self.planted):
            found = self.planted[kind] - self.missed[kind]
            out.append(
                f"  planted {kind:16s} {found:4d}/{self.planted[kind]:<4d} recall {found / self.planted[kind]:.4f}"
            )
        for kind in sorted(self.kept):
            out.append(f"  look-alike {kind:13s} {self.redacted[kind]:4d}/{self.kept[kind]:<4d} redacted")
        return out


def load(path: Path = CORPUS) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score(records: list[dict[str, object]], redact: Callable[[str], str]) -> Score:
    """A planted value counts as found when it no longer occurs in the output; a look-alike as redacted when not."""
    result = Score()
    for record in records:
        output = redact(str(record["text"]))
        for item in record["planted"]:  # type: ignore[attr-defined]
            result.planted[item["kind"]] += 1
            if item["value"] in output:
                result.missed[item["kind"]] += 1
                result.examples.append(f"missed {item['kind']} {item['value'][:60]!r} in {record['id']}")
        for item in record["lookalikes"]:  # type: ignore[attr-defined]
            result.kept[item["kind"]] += 1
            if item["value"] not in output:
                result.redacted[item["kind"]] += 1
                result.examples.append(f"redacted look-alike {item['kind']} {item['value'][:60]!r} in {record['id']}")
    return result


def render(records: list[dict[str, object]]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n" for record in records)


def main() -> int:
    records = build_corpus()
    CORPUS.write_text(render(records), encoding="utf-8")
    planted = Counter(p["kind"] for r in records for p in cast(list[dict[str, str]], r["planted"]))
    kept = sum(len(cast(list[object], r["lookalikes"])) for r in records)
    print(f"{len(records)} records, {sum(planted.values())} planted {dict(sorted(planted.items()))}, {kept} kept")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
