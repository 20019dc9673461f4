"""Every pattern recognizer: never raises, returns in-bounds spans of its own types, and
runs in linear time on adversarial input."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.data.detect.base import Finding, Recognizer
from bastion.data.detect.recognizers import (
    cards,
    dob,
    email,
    iban,
    ip,
    mrn,
    passport,
    phone,
    secrets,
    ssn,
)

RECOGNIZERS: list[Recognizer] = [
    r
    for module in (email, phone, ssn, cards, iban, ip, dob, passport, mrn, secrets)
    for r in module.RECOGNIZERS
]

# Text rich in the characters the patterns care about.
TEXTS = st.one_of(
    st.text(),
    st.text(alphabet="0123456789 -./:()+@,;\n\"'=#_abcdefxyzABCDEFXYZAKIASeyJ", max_size=300),
    st.lists(
        st.sampled_from(
            ["SSN ", "DOB: ", "born ", "passport ", "MRN", "phone ", "token=", "Bearer ",
             "name,ssn,dob\n", "IBAN ", "DE89", "4111", "-", " ", ".", ":", "::", "\n",
             "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "eyJ", "@", "+1 ",
             "123", "4567", "1984", "03/07/", "March 7, ", "192.168.", "v1.", "fe80::"]
        ),
        max_size=40,
    ).map("".join),
)  # fmt: skip


def check(recognizer: Recognizer, text: str) -> None:
    for f in recognizer.find(text):
        assert isinstance(f, Finding)
        assert 0 <= f.start < f.end <= len(text)
        assert f.type in recognizer.entity_types
        assert 0.0 <= f.score <= 1.0


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_find_never_raises_and_stays_in_bounds(text: str) -> None:
    for recognizer in RECOGNIZERS:
        check(recognizer, text)


@pytest.mark.parametrize(
    "text",
    [
        "1" * 50_000,
        "1 " * 25_000,
        "1-" * 25_000,
        "1." * 25_000,
        "ab12:" * 10_000,
        "a@" * 25_000,
        "a" * 50_000 + "@",
        "a@" + "a." * 25_000,
        "name,ssn,dob\n" + 'x,"' * 15_000,
        "-----BEGIN PRIVATE KEY-----\n" * 2_000,
        "eyJabcdefgh." * 4_000,
        "ssn 123456789 born passport token " * 1_500,
        "7 March " * 6_000,
        "(1" * 25_000,
        "DE89 " * 10_000,
        "Bearer " + "a" * 50_000,
    ],
    ids=lambda text: repr(text[:12]),
)
def test_linear_time_on_adversarial_text(text: str) -> None:
    for recognizer in RECOGNIZERS:
        started = time.perf_counter()
        check(recognizer, text)
        assert time.perf_counter() - started < 1.0, recognizer.name
