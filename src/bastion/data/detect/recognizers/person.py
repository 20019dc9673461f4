"""PERSON: personal names, found by the shipped CRF tagger (:mod:`..tagger`).

Full names with middle names and initials, first names on their own (chat speakers,
greetings), names from many locales; titles such as "Dr." stay outside the span. The
model learned names from their shape and their context, not from a list, so names it
never saw are found too. The STREET_ADDRESS recognizer shares the same tagging pass.
"""

from __future__ import annotations

from bastion.data.detect.tagger import PERSON, TaggerRecognizer

RECOGNIZERS = (TaggerRecognizer("person", PERSON),)
