"""STREET_ADDRESS: postal addresses, found by the shipped CRF tagger (:mod:`..tagger`).

The whole address as written: a street line alone, or street, city, region and postcode
on one line, or over several lines of an e-mail signature or an envelope. Cities and
countries on their own are not addresses. The PERSON recognizer shares the same
tagging pass, so a text is tagged once for both.
"""

from __future__ import annotations

from bastion.data.detect.tagger import STREET_ADDRESS, TaggerRecognizer

RECOGNIZERS = (TaggerRecognizer("street_address", STREET_ADDRESS),)
