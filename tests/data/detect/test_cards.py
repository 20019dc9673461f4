"""CREDIT_CARD: Luhn-valid numbers with a known issuer prefix, in usual groupings."""

from __future__ import annotations

import random

import pytest

from bastion.data.detect.recognizers.cards import RECOGNIZERS, issuer, luhn_valid
from bastion.data.detect.registry import Detector

DETECTOR = Detector(recognizers=RECOGNIZERS)


def found(text: str) -> list[str]:
    return [text[f.start : f.end] for f in DETECTOR.detect(text)]


def with_check_digit(body: str) -> str:
    """``body`` followed by the digit that makes it Luhn-valid."""
    for d in "0123456789":
        if luhn_valid(body + d):
            return body + d
    raise AssertionError("unreachable")


def card(prefix: str, length: int, seed: int) -> str:
    rng = random.Random(seed)
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return with_check_digit(body)


def grouped(number: str, sizes: tuple[int, ...], sep: str) -> str:
    parts, pos = [], 0
    for size in sizes:
        parts.append(number[pos : pos + size])
        pos += size
    return sep.join(parts)


def broken(number: str) -> str:
    """``number`` with its check digit changed: Luhn fails."""
    last = (int(number[-1]) + 1) % 10
    return number[:-1] + str(last)


CARDS = [
    ("visa", card("4", 16, 1)),
    ("visa", card("4", 13, 2)),
    ("mastercard", card("53", 16, 3)),
    ("mastercard", card("2221", 16, 4)),
    ("mastercard", card("2720", 16, 5)),
    ("amex", card("34", 15, 6)),
    ("amex", card("37", 15, 7)),
    ("discover", card("6011", 16, 8)),
    ("discover", card("65", 16, 9)),
    ("discover", card("644", 16, 10)),
    ("jcb", card("3528", 16, 11)),
    ("jcb", card("3589", 16, 12)),
]


@pytest.mark.parametrize(("network", "number"), CARDS)
def test_networks(network: str, number: str) -> None:
    assert issuer(number) == network
    assert found(f"card {number} charged") == [number]


@pytest.mark.parametrize("sep", [" ", "-"])
def test_grouped_sixteen(sep: str) -> None:
    number = grouped(card("4", 16, 20), (4, 4, 4, 4), sep)
    assert found(f"paid with {number}.") == [number]


def test_grouped_amex() -> None:
    number = grouped(card("37", 15, 21), (4, 6, 5), " ")
    assert found(f"Amex {number}") == [number]


def test_in_csv_row() -> None:
    number = grouped(card("5", 16, 22), (4, 4, 4, 4), "-")
    assert found(f"name,card\nAna,{number},x\n") == [number]


@pytest.mark.parametrize(
    "text",
    [
        f"card {broken(card('4', 16, 30))}",  # Luhn fails
        f"card {grouped(broken(card('5', 16, 31)), (4, 4, 4, 4), ' ')}",
        f"card {grouped(card('4', 16, 32), (4, 4, 4, 4), ' ')[:-2]}-{card('4', 16, 32)[-1]}",
        f"id {card('4', 16, 33)}7",  # a longer digit run
        f"x{card('4', 16, 34)}",  # glued to a word
        f"mixed {grouped(card('4', 16, 35), (4, 4, 4, 4), ' ')[:9]}-1234-5678",
        "tracking 4570387496339666480578",
        "order 740516539117",
        "epoch 1718329091000",
        "zeros 0000 0000 0000 0000",
        f"seed = {card('4', 19, 36)}",  # a long bare run needs a card label
    ],
)
def test_not_cards(text: str) -> None:
    assert found(text) == []


def test_long_bare_runs_need_a_label() -> None:
    number = card("4", 19, 36)
    assert found(f"card number {number}") == [number]


def test_luhn_known_values() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
