"""IBAN_CODE: registered country length and the mod-97 check."""

from __future__ import annotations

import random

import pytest

from bastion.data.detect.recognizers.iban import IBAN_LENGTHS, RECOGNIZERS, mod97_valid
from bastion.data.detect.registry import Detector

DETECTOR = Detector(recognizers=RECOGNIZERS)


def found(text: str) -> list[str]:
    return [text[f.start : f.end] for f in DETECTOR.detect(text)]


def make_iban(country: str, bban: str) -> str:
    """``country`` + check digits + ``bban``, with the check digits computed (ISO 13616)."""
    rearranged = bban + country + "00"
    number = int("".join(str(int(c, 36)) for c in rearranged))
    return f"{country}{98 - number % 97:02d}{bban}"


def random_bban(country: str, seed: int, letters: int = 0) -> str:
    rng = random.Random(seed)
    length = IBAN_LENGTHS[country] - 4
    head = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(letters))
    return head + "".join(rng.choice("0123456789") for _ in range(length - letters))


def spaced(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def broken(iban: str) -> str:
    digit = (int(iban[3]) + 1) % 10
    return iban[:3] + str(digit) + iban[4:]


IBANS = [
    make_iban("DE", random_bban("DE", 1)),
    make_iban("GB", random_bban("GB", 2, letters=4)),
    make_iban("FR", random_bban("FR", 3)),
    make_iban("ES", random_bban("ES", 4)),
    make_iban("NL", random_bban("NL", 5, letters=4)),
    make_iban("IT", random_bban("IT", 6, letters=1)),
    make_iban("BE", random_bban("BE", 7)),
    make_iban("CH", random_bban("CH", 8)),
    make_iban("NO", random_bban("NO", 9)),
    make_iban("MT", random_bban("MT", 10, letters=4)),
]


def test_known_example() -> None:
    assert mod97_valid("GB82WEST12345698765432")
    assert found("IBAN DE89 3704 0044 0532 0130 00 please") == ["DE89 3704 0044 0532 0130 00"]


@pytest.mark.parametrize("iban", IBANS)
def test_compact(iban: str) -> None:
    assert found(f"wire to {iban}, thanks") == [iban]


@pytest.mark.parametrize("iban", IBANS)
def test_groups_of_four(iban: str) -> None:
    text = spaced(iban)
    assert found(f"IBAN {text} for salary") == [text]


def test_followed_by_a_capitalized_word() -> None:
    text = spaced(IBANS[0])
    assert found(f"{text} BIC COBADEFFXXX") == [text]


@pytest.mark.parametrize(
    "text",
    [
        broken(IBANS[0]),
        spaced(broken(IBANS[1])),
        IBANS[0][:-1],  # too short for DE
        IBANS[0] + "7",  # too long
        "XX" + IBANS[0][2:],  # no such country
        IBANS[0][:6] + " " + IBANS[0][6:],  # a space off the four-grid
        f"A{IBANS[0]}",
    ],
)
def test_not_ibans(text: str) -> None:
    assert found(f"iban {text} end") == []
