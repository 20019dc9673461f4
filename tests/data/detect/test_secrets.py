"""API_SECRET: vendor tokens, JWTs, bearer tokens, PEM private keys, labelled random strings.

Token values are generated at run time so that no credential-shaped literal sits in the
repository.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import uuid

import pytest

from bastion.data.detect.recognizers.secrets import (
    RECOGNIZERS,
    basic_credentials,
    random_looking,
    shannon_entropy,
)
from bastion.data.detect.registry import Detector

DETECTOR = Detector(recognizers=RECOGNIZERS)
RNG = random.Random(7)
ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits


def found(text: str) -> list[str]:
    return [text[f.start : f.end] for f in DETECTOR.detect(text)]


def rand(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(header: dict[str, str] | None = None) -> str:
    head = b64url(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps({"sub": "1234567", "iat": 1705157615}).encode())
    return f"{head}.{body}.{b64url(RNG.randbytes(32))}"


def pem(label: str = "RSA PRIVATE KEY") -> str:
    lines = [base64.b64encode(RNG.randbytes(48)).decode() for _ in range(5)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"


AWS_ID = "AKIA" + rand(UPPER_ALNUM, 16)
AWS_SESSION_ID = "ASIA" + rand(UPPER_ALNUM, 16)
AWS_SECRET = rand(ALNUM + "/+", 40)
GITHUB = [p + rand(ALNUM, 36) for p in ("ghp_", "gho_", "ghs_", "ghu_", "ghr_")]
GITHUB_PAT = "github_pat_" + rand(ALNUM, 22) + "_" + rand(ALNUM, 59)
SLACK = "xoxb-" + rand(string.digits, 12) + "-" + rand(string.digits, 13) + "-" + rand(ALNUM, 24)
STRIPE = "sk_live_" + rand(ALNUM, 24)
GOOGLE = "AIza" + rand(ALNUM + "_-", 35)
OPAQUE = rand(ALNUM, 32)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"access_key_id={AWS_ID}", AWS_ID),
        (f"key {AWS_SESSION_ID} used", AWS_SESSION_ID),
        (f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET),
        *[(f"pasted {token} by mistake", token) for token in GITHUB],
        (f"GITHUB_TOKEN={GITHUB_PAT}", GITHUB_PAT),
        (f"slack bot {SLACK}", SLACK),
        (f"stripe.api_key = '{STRIPE}'", STRIPE),
        (f"maps key {GOOGLE}", GOOGLE),
        (f'"api_key": "{OPAQUE}"', OPAQUE),
        (f"password: {OPAQUE}", OPAQUE),
    ],
)
def test_tokens(text: str, expected: str) -> None:
    assert found(text) == [expected]


def test_jwt_anywhere() -> None:
    token = jwt()
    assert found(f"cookie session={token}; path=/") == [token]


def test_bearer_token_is_the_span() -> None:
    token = jwt()
    assert found(f"Authorization: Bearer {token}\nHost: x") == [token]
    assert found(f"Authorization: Bearer {OPAQUE}") == [OPAQUE]
    basic = base64.b64encode(b"admin:" + rand(ALNUM, 12).encode()).decode()
    assert found(f"Authorization: Basic {basic}") == [basic]
    short = base64.b64encode(b"admin:hunter2").decode()
    assert found(f"Authorization: Basic {short}") == [short]
    assert found(f"see the JWT {token}.") == [token]


@pytest.mark.parametrize(
    "label",
    [
        "RSA PRIVATE KEY",
        "PRIVATE KEY",
        "EC PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
    ],
)
def test_pem_block_is_one_span(label: str) -> None:
    block = pem(label)
    text = f"key:\n{block}\nthanks"
    assert found(text) == [block]


def test_pem_in_json_string() -> None:
    block = pem().replace("\n", "\\n")
    text = '{"private_key": "' + block + '\\n"}'
    assert found(text) == [block]


def test_truncated_pem_block() -> None:
    block = pem()
    cut = block[: block.index("-----END")].rstrip()
    assert found(f"oops {cut}\n\nRegards, Bob") == [cut]


def test_public_key_is_not_a_secret() -> None:
    block = pem("PUBLIC KEY")
    assert found(block) == []


@pytest.mark.parametrize(
    "text",
    [
        f"token={hashlib.sha1(b'x').hexdigest()}",  # git SHA / SHA-1
        f"secret: {hashlib.md5(b'x').hexdigest()}",
        f"api_key={hashlib.sha256(b'x').hexdigest()}",
        f"commit {hashlib.sha1(b'y').hexdigest()[:7]}",
        f"token {uuid.UUID(int=RNG.getrandbits(128))}",
        f"token={str(uuid.UUID(int=RNG.getrandbits(128))).replace('-', '')}",
        "tracking 1Z999AA10123456784",
        "sku SKU-12345-RED-L",
        "password: hunter2",
        "token: ThisIsNotARandomTokenAtAll",
        "api_key: com.example.service.client",
        "token_url=https://auth.example.com/oauth2/v1/token",
        "secret_file=config/secrets/prod_2024.yaml",
        f"no label here {OPAQUE}",
        f"Bearer {hashlib.sha256(b'z').hexdigest()}",
        f"not a jwt eyJ{rand(ALNUM, 20)}.eyJ{rand(ALNUM, 20)}.{rand(ALNUM, 20)}",
        f"AKIA{rand(UPPER_ALNUM, 15)} too short",
        f"xAKIA{rand(UPPER_ALNUM, 16)} glued",
    ],
)
def test_not_secrets(text: str) -> None:
    assert found(text) == []


def test_jwt_needs_a_header_with_alg() -> None:
    assert found(jwt({"typ": "JWT"})) == []


def test_basic_credentials() -> None:
    assert basic_credentials(base64.b64encode(b"user:pass").decode())
    assert not basic_credentials(base64.b64encode(b"no colon here").decode())
    assert not basic_credentials("not base64 at all!")


def test_entropy() -> None:
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == 2.0
    assert random_looking(OPAQUE)
    assert not random_looking("0123456789abcdef0123456789abcdef")
