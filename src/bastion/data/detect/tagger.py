"""A learned sequence tagger for personal names and postal addresses.

Names and addresses have no checksum and no fixed shape, so Bastion finds them with a
linear-chain CRF (python-crfsuite) that labels tokens ``B-``/``I-``/``O`` for ``PERSON``
and ``STREET_ADDRESS``. The model is trained by :mod:`bastion.data.detect.train` on
synthetic text it generates, and ships in the package as crfsuite's own binary model
format (no pickle anywhere).

The pieces, in the order text goes through them:

* :func:`tokenize`: one regular expression that keeps character offsets; URLs, e-mail
  addresses and IDs are single tokens, and a line break is a token of its own, so a
  signature address that spans lines is one entity.
* features (:func:`sequence_features`): for each token its lower-cased word, shape,
  affixes, length and membership in a few small lexicons (titles, street types,
  greetings, name particles, company suffixes, calendar and function words, US state
  codes), the same for the two neighbours on each side, a few conjunctions of them,
  whether it touches the token before, and whether it labels a line ("Amanda:") that
  comes back elsewhere in the text. What depends on one token only is computed once per
  distinct token string and cached, so a token costs a few list concatenations.
* :func:`candidate_windows`: only capitalised words, with two tokens before and three
  after, are tagged; lower-case prose, numbers, IDs and log noise around them are ``O``
  by construction. The model is trained on the same windows.
* :class:`EntityTagger`: runs the CRF over those windows and turns label runs into
  character spans, without titles, scored by the CRF's marginal probabilities.
"""

from __future__ import annotations

import re
import string
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final

import pycrfsuite

from bastion.data.detect.base import Finding

PERSON: Final = "PERSON"
STREET_ADDRESS: Final = "STREET_ADDRESS"
ENTITY_LABELS: Final = (PERSON, STREET_ADDRESS)
LABELS: Final = ("O", *(f"{p}-{t}" for t in ENTITY_LABELS for p in ("B", "I")))

# The shipped model, relative to the ``bastion.data.detect`` package.
MODEL_PACKAGE: Final = "bastion.data.detect"
MODEL_RESOURCE: Final = "models/person_address.crfsuite"

# URLs and e-mail addresses are one token each; so is a run of letters and digits joined
# by separators when it holds a digit (dates, times, versions, IDs, postcodes such as
# 00-950, house numbers such as 12/3). Other joined runs ("Jean-Pierre", "U.S.") are split
# again into words: letters and digits, with inner apostrophes as in O'Brien but not a
# possessive 's. A line break is a token of its own, and so is any other visible
# character. One pass, no backtracking beyond a token.
_TOKEN_RE: Final = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'`]+"
    r"|(?P<w>[^\W_]+(?:['\u2019](?![sS]\b)[^\W_]+)*)"
    r"(?P<j>(?:[-_./:+]+[^\W_]+)+)?"
    r"(?P<m>@[\w-]+(?:\.[\w-]+)+)?"
    r"|\n|[^\w\s]|_+"
)
_WORD_RE: Final = re.compile(r"[^\W_]+(?:['\u2019](?![sS]\b)[^\W_]+)*|[^\w\s]|_+")
_HAS_DIGIT: Final = re.compile(r"\d")

# --------------------------------------------------------------------------- lexicons
# Small closed-class word lists. Each is one feature among many: the model learns how
# much to trust it, and names or streets outside every list are still found by shape
# and context.


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_TITLES: Final = _words(
    """mr mrs ms miss mx dr drs prof sir madam dame lord lady rev revd fr herr frau hr
    dipl ing univ m mm mme mlle monsieur madame messrs sr sra srta sres don dona doña dom
    sig sigg dott dotts dott.ssa avv geom rag dhr mevr mw ir pan pani panna pana shri
    smt sri kumari km capt cpt col gen lt sgt maj cmdr adm det insp officer judge hon
    mag phd md dds jr sen rabbi imam pastor father sister brother mister mistress
    doctor professor nurse"""
)
_STREET: Final = _words(
    """street st str road rd avenue ave av avda lane ln drive dr boulevard blvd bd bvd
    court ct place pl square sq terrace ter tce way crescent cres close grove gardens
    gdns park parkway pkwy highway hwy circle cir trail trl row mews walk hill rise
    path plaza route rte pike alley junction jct heights hts ridge point pt meadow
    meadows ranch estate estates green vale view views wells wharf wood woods yard
    causeway crossing cove coves bypass expressway freeway motorway turnpike loop
    strasse straße weg platz allee gasse ring damm ufer chaussee pfad steig markt
    rue chemin allée allee impasse quai cours voie passage faubourg
    calle avenida paseo camino carretera ronda travesía travesia glorieta pasaje plaça
    carrer via viale piazza piazzale corso largo vicolo strada contrada borgo
    rua travessa alameda praça praca rodovia estrada viela
    straat laan gracht singel plein kade dijk steeg hof dreef baan
    ul ulica al aleja plac os osiedle
    marg nagar chowk ganj colony sector gali nivas"""
)
# Endings of one-word street names in German, Dutch and similar compounds.
_STREET_SUFFIXES: Final = (
    "straße",
    "strasse",
    "str",
    "weg",
    "gasse",
    "allee",
    "platz",
    "ring",
    "damm",
    "ufer",
    "straat",
    "laan",
    "gracht",
    "singel",
    "plein",
    "kade",
    "dijk",
    "steeg",
    "hof",
    "dreef",
    "baan",
    "markt",
)
_UNIT: Final = _words(
    """apt apartment suite ste unit flat floor fl fl. bldg building room rm po box
    piso puerta apto andar bloco sala casa appartamento scala interno int lok
    wohnung etage stock h.no no nr nº n° numero número"""
)
_GREETING: Final = _words(
    """dear hi hello hey hiya yo morning afternoon evening greetings thanks thank
    regards cheers best sincerely cordially hallo liebe lieber geehrte geehrter grüßen
    gruss gruß bonjour bonsoir salut cher chère chere cordialement hola estimado
    estimada querido querida saludos ciao gentile caro cara salve saluti beste hoi
    geachte groet groeten olá ola oi prezado prezada atenciosamente abraços szanowny
    szanowna szanowni drogi droga witaj cześć czesc pozdrawiam namaste namaskar merci
    danke dank gracias grazie obrigado obrigada dziękuję dziekuje bedankt thx"""
)
_PARTICLE: Final = _words(
    """van von der den de del della di da das do dos du la le les lo ten ter bin binti
    al el ibn zu vom y e"""
)
_ORG: Final = _words(
    """inc llc ltd llp plc corp corporation co company gmbh ag kg ohg gbr ug se sa sas
    sarl srl spa s.p.a bv nv sl slu ltda eireli me sp zoo pvt limited group holdings
    partners associates bank university universidad université hospital clinic
    foundation institute labs solutions systems services technologies consulting
    fils figli hermanos cie"""
)
_STATE: Final = _words(
    """AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT
    NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR VI GU AS
    MP AA AE AP"""
)
_CALENDAR: Final = _words(
    """january february march april may june july august september october november
    december jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday
    thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun today
    tomorrow yesterday"""
)
_STOP: Final = _words(
    """a an the of in on at to for from with by and or but nor is are was were be been
    being am this that these those it its we you they he she i me my your our his her
    their them us him please thanks yes no not all any some new per via as if so than
    then there here what when where which who whom why how can could will would should
    may might must shall do does did done have has had get got let our re fw fwd cc
    bcc subject attn note notes ok okay also just still only about after before over
    under into out up down off again each every both few more most other such own same
    too very one two three first last next see call"""
)

_LEXICONS: Final[tuple[tuple[str, frozenset[str]], ...]] = (
    ("title", _TITLES),
    ("street", _STREET),
    ("unit", _UNIT),
    ("greet", _GREETING),
    ("particle", _PARTICLE),
    ("org", _ORG),
    ("cal", _CALENDAR),
    ("stop", _STOP),
)


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True, slots=True)
class Tokens:
    """The tokens of one text: ``words[i] == text[starts[i]:ends[i]]``."""

    words: list[str]
    starts: list[int]
    ends: list[int]


def tokenize(text: str) -> Tokens:
    """Split ``text`` into word, line-break and punctuation tokens with their offsets."""
    matches = list(_TOKEN_RE.finditer(text))
    has_digit = _HAS_DIGIT.search
    # Joined runs without a digit are words with hyphens or dots: split them again.
    split = [i for i, m in enumerate(matches) if m.lastgroup == "j" and not has_digit(m.group())]
    if not split:
        return Tokens(
            [m.group() for m in matches],
            [m.start() for m in matches],
            [m.end() for m in matches],
        )
    words: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    prev = 0
    for i in split:
        chunk = matches[prev:i]
        words += [m.group() for m in chunk]
        starts += [m.start() for m in chunk]
        ends += [m.end() for m in chunk]
        base = matches[i].start()
        for sub in _WORD_RE.finditer(matches[i].group()):
            words.append(sub.group())
            starts.append(base + sub.start())
            ends.append(base + sub.end())
        prev = i + 1
    chunk = matches[prev:]
    words += [m.group() for m in chunk]
    starts += [m.start() for m in chunk]
    ends += [m.end() for m in chunk]
    return Tokens(words, starts, ends)


# --------------------------------------------------------------------------- features


_ASCII_SHAPE: Final = str.maketrans(
    string.ascii_uppercase + string.ascii_lowercase + string.digits,
    "X" * 26 + "x" * 26 + "d" * 10,
)


_REPEATS: Final = re.compile(r"(?<=X)X+|(?<=x)x+|(?<=d)d+")


def _shape(token: str) -> str:
    """Character classes with runs collapsed: ``Xx``, ``X``, ``d``, ``XxXx``, ``d-d``."""
    if token.isascii():
        classes = token.translate(_ASCII_SHAPE)
    else:
        classes = "".join(
            "X" if ch.isupper() else "x" if ch.isalpha() else "d" if ch.isdigit() else ch
            for ch in token
        )
    return _REPEATS.sub("", classes)[:8]


def _length_bucket(n: int) -> str:
    if n <= 3:
        return str(n)
    if n <= 5:
        return "4-5"
    if n <= 8:
        return "6-8"
    return "9+"


def _clean(text: str) -> str:
    """Feature strings must survive UTF-8 and crfsuite's C strings."""
    text = text.replace("\x00", "")
    if text.isascii():
        return text
    return text.encode("utf-8", "replace").decode("utf-8")


@dataclass(frozen=True, slots=True)
class _Info:
    """Everything a token contributes: as itself and as each neighbour."""

    word: str  # the lower-cased word, or the class of a number / ID / address
    shape: str
    own: list[str]
    prev2: list[str]
    prev1: list[str]
    next1: list[str]
    next2: list[str]
    candidate: bool  # may start or sit inside a name or an address


def _describe(token: str) -> _Info:
    if token == "\n":  # noqa: S105 - a line break, not a password
        return _NEWLINE
    if _HAS_DIGIT.search(token) or len(token) > 40:
        # Numbers, dates and IDs by shape and length, not by value: 12345 is like 54321.
        key = f"<{_shape(token)}{min(len(token), 9)}>"
        if len(token) >= 4 and token.isdigit():
            key += "#"
        return _shared_info(key)
    if "@" in token:
        return _shared_info("<email>")
    if token[0] in "hHwW" and ("://" in token or token.lower().startswith("www.")):
        return _shared_info("<url>")
    low = token.lower()
    shape = _shape(token)
    word = _clean(low)
    own = [f"w={word}", f"sh={shape}", f"ln={_length_bucket(len(token))}"]
    lex: list[str] = []
    if token[0].isalpha():
        own.append(f"p2={word[:2]}")
        own.append(f"p3={word[:3]}")
        own.append(f"s2={word[-2:]}")
        own.append(f"s3={word[-3:]}")
        own.append(f"s4={word[-4:]}")
        for name, words in _LEXICONS:
            if low in words:
                lex.append(f"lx={name}")
        if low.endswith(_STREET_SUFFIXES) and low not in _STREET:
            lex.append("lx=streetsfx")
        if token in _STATE:
            lex.append("lx=state")
    own.extend(lex)
    ctx = [f"w={word}", f"sh={shape}", *lex]
    # Worth tagging: a capitalised word that is not a capitalised function word, greeting,
    # title or calendar word (those sit next to a candidate when they matter: "Hi Anna").
    # Words in capitals (INFO, GET, SKU, state codes) are tagged only as the neighbours
    # of a candidate: a name written all in capitals is rare, log levels are not.
    candidate = (
        token[0].isupper()
        and not (len(token) > 1 and token.isupper())
        and not (lex and low in _NEVER_ALONE)
    )
    return _make_info(word, shape, own, ctx, candidate=candidate)


_NEVER_ALONE: Final = _STOP | _CALENDAR | _GREETING | _TITLES


def _make_info(word: str, shape: str, own: list[str], ctx: list[str], *, candidate: bool) -> _Info:
    return _Info(
        word=word,
        shape=shape,
        own=own,
        prev2=[f"-2{f}" for f in ctx],
        prev1=[f"-1{f}" for f in ctx],
        next1=[f"+1{f}" for f in ctx],
        next2=[f"+2{f}" for f in ctx],
        candidate=candidate,
    )


_shared: dict[str, _Info] = {}


def _shared_info(key: str) -> _Info:
    """One info object per token class (numbers, IDs, e-mails): never a candidate."""
    info = _shared.get(key)
    if info is None:
        if len(_shared) >= 10_000:
            _shared.clear()
        ctx = [f"w={key}"]
        info = _shared[key] = _make_info(key, "ID", ctx, ctx, candidate=False)
    return info


def _context_only(word: str, shape: str) -> _Info:
    ctx = [f"w={word}", f"sh={shape}"]
    return _make_info(word, shape, list(ctx), ctx, candidate=False)


_NEWLINE: Final = _context_only("<nl>", "NL")
_BOUNDARY: Final = _context_only("<s>", "BOS")
_END: Final = _context_only("</s>", "EOS")

# About 1 KB an entry: a bounded cache, emptied when full.
_CACHE_LIMIT: Final = 50_000
_info_cache: dict[str, _Info] = {}


def _infos(words: Sequence[str]) -> list[_Info]:
    cache_ = _info_cache
    out: list[_Info] = []
    append = out.append
    for w in words:
        info = cache_.get(w)
        if info is None:
            if len(cache_) >= _CACHE_LIMIT:
                cache_.clear()
            info = cache_[w] = _describe(w)
        append(info)
    return out


def _speaker_marks(words: Sequence[str]) -> dict[int, str]:
    """Mark the words before a colon ("Amanda:", "Status:", "Anna Kowalski:").

    A label that comes back several times in one text is a chat speaker or a column of
    a transcript far more often than a form field, which appears once: the feature says
    which, for every word of the label.
    """
    colons = [i for i, w in enumerate(words) if w == ":"]
    if not colons:
        return {}
    keys: list[tuple[int, int, tuple[str, ...]]] = []
    counts: dict[tuple[str, ...], int] = {}
    for c in colons:
        j = c
        while j > 0 and c - j < 4 and words[j - 1].isalpha():
            j -= 1
        if j == c:
            continue
        key = tuple(words[j:c])
        keys.append((j, c, key))
        counts[key] = counts.get(key, 0) + 1
    marks: dict[int, str] = {}
    for j, c, key in keys:
        mark = "spk=rep" if counts[key] > 1 else "spk=one"
        for k in range(j, c):
            marks[k] = mark
    return marks


def _glued(tokens: Tokens) -> list[bool]:
    """For each token, whether it touches the one before (no space between them)."""
    return [False, *(s == e for s, e in zip(tokens.starts[1:], tokens.ends, strict=False))]


def _features(
    infos: Sequence[_Info],
    lo: int,
    hi: int,
    marks: dict[int, str] | None,
    glued: Sequence[bool],
) -> list[list[str]]:
    """Feature lists for tokens ``lo..hi-1``; neighbours may lie outside the window."""
    n = len(infos)
    padded = [_BOUNDARY, _BOUNDARY, *infos, _END, _END]
    # padded[i + 2] is infos[i]
    out: list[list[str]] = []
    append = out.append
    for i in range(lo, min(hi, n)):
        prev, cur, nxt = padded[i + 1], padded[i + 2], padded[i + 3]
        feats = cur.own + padded[i].prev2 + prev.prev1 + nxt.next1 + padded[i + 4].next2
        # Conjunctions: the word before with this shape ("dear|Xx"), this shape with the
        # word after ("Xx|:"), and the three shapes ("Xx|Xx|,").
        feats.append(f"pw|s={prev.word}|{cur.shape}")
        feats.append(f"s|nw={cur.shape}|{nxt.word}")
        feats.append(f"ps|s|ns={prev.shape}|{cur.shape}|{nxt.shape}")
        if marks and i in marks:
            feats.append(marks[i])
        # Spacing tells "Main St,12345" (fields) from "Main St, 12345" (prose).
        if glued[i]:
            feats.append("gl")
        if i + 1 < n and glued[i + 1]:
            feats.append("+1gl")
        append(feats)
    return out


def training_windows(
    tokens: Tokens, labels: Sequence[str]
) -> Iterator[tuple[list[list[str]], list[str]]]:
    """The (features, labels) of each window the tagger would look at in this text.

    Training on exactly the windows used at run time keeps the two consistent.
    """
    words = tokens.words
    infos = _infos(words)
    marks = _speaker_marks(words)
    glued = _glued(tokens)
    for lo, hi in candidate_windows(infos):
        yield _features(infos, lo, hi, marks, glued), list(labels[lo:hi])


def sequence_features(tokens: Tokens) -> list[list[str]]:
    """Feature lists for every token of a text, as the tagger computes them."""
    infos = _infos(tokens.words)
    return _features(infos, 0, len(infos), _speaker_marks(tokens.words), _glued(tokens))


# Tokens of context tagged before and after a candidate word: names and addresses run on
# to the right (a postcode after "Springfield, IL"), rarely far to the left.
_WINDOW_BEFORE: Final = 2
_WINDOW_AFTER: Final = 3


def candidate_windows(infos: Sequence[_Info]) -> list[tuple[int, int]]:
    """Token ranges worth tagging: capitalised words with a few tokens around them.

    Everything outside these ranges is labelled ``O`` without running the model.
    """
    windows: list[tuple[int, int]] = []
    n = len(infos)
    lo = hi = -1
    before, after = _WINDOW_BEFORE, _WINDOW_AFTER
    for i, info in enumerate(infos):
        if not info.candidate:
            continue
        a = max(0, i - before)
        b = min(n, i + after + 1)
        if a <= hi:
            hi = b
        else:
            if hi > lo:
                windows.append((lo, hi))
            lo, hi = a, b
    if hi > lo:
        windows.append((lo, hi))
    return windows


# --------------------------------------------------------------------------- spans


def bio_labels(tokens: Tokens, spans: Iterable[tuple[int, int, str]]) -> list[str]:
    """``B-``/``I-``/``O`` labels for ``tokens`` from character spans ``(start, end, type)``."""
    labels = ["O"] * len(tokens.words)
    ordered = sorted(spans)
    j = 0
    for i, (s, e) in enumerate(zip(tokens.starts, tokens.ends, strict=True)):
        while j < len(ordered) and ordered[j][1] <= s:
            j += 1
        if j < len(ordered):
            ss, se, kind = ordered[j]
            if s >= ss and e <= se:
                inside = i > 0 and labels[i - 1] != "O" and tokens.starts[i - 1] >= ss
                labels[i] = f"{'I' if inside else 'B'}-{kind}"
    return labels


_TRAILING_JUNK: Final = frozenset(",;:-\u2013\u2014(/|\n\"'`*#=<[{")
_PERSON_TRAILING: Final = frozenset(".") | _TRAILING_JUNK


@dataclass(frozen=True, slots=True)
class Span:
    """One entity the tagger found: ``text[start:end]`` is of ``type``."""

    start: int
    end: int
    type: str
    score: float


class EntityTagger:
    """A loaded CRF model; :meth:`spans` finds names and addresses in text.

    crfsuite taggers keep per-call state, so calls are serialised with a lock.
    """

    def __init__(self, model: bytes) -> None:
        # crfsuite reads the model in place: the bytes must outlive the tagger.
        self._model = bytes(model)
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open_inmemory(self._model)
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: str) -> EntityTagger:
        """Load a model written by the trainer."""
        with open(path, "rb") as fh:
            return cls(fh.read())

    def spans(self, text: str) -> list[Span]:
        """Every name and address in ``text``, with a confidence in [0, 1]."""
        tokens = tokenize(text)
        words = tokens.words
        if not words:
            return []
        infos = _infos(words)
        marks = _speaker_marks(words) if ":" in text else None
        glued = _glued(tokens)
        found: list[Span] = []
        tagger = self._tagger
        with self._lock:
            for lo, hi in candidate_windows(infos):
                xseq = _features(infos, lo, hi, marks, glued)
                ys = tagger.tag(xseq)
                i = 0
                n = len(ys)
                while i < n:
                    y = ys[i]
                    if y == "O":
                        i += 1
                        continue
                    kind = y[2:]
                    j = i + 1
                    inside = f"I-{kind}"
                    while j < n and ys[j] == inside:
                        j += 1
                    span = self._make_span(tokens, lo, i, j, kind, ys)
                    if span is not None:
                        found.append(span)
                    i = j
        return found

    def _make_span(
        self, tokens: Tokens, offset: int, i: int, j: int, kind: str, ys: Sequence[str]
    ) -> Span | None:
        """Trim titles and punctuation off window tokens ``i..j-1`` and score the rest."""
        words = tokens.words
        a = offset + i
        b = offset + j
        if kind == PERSON:
            # Titles stay outside a name: "Dr. Jane Doe" -> "Jane Doe".
            while a < b and (words[a].lower() in _TITLES or words[a] == "."):
                a += 1
            trailing = _PERSON_TRAILING
        else:
            trailing = _TRAILING_JUNK
        while b > a and words[b - 1] in trailing:
            # Keep the period of an initial ("John F.").
            if words[b - 1] == "." and b - 2 >= a and len(words[b - 2]) == 1:
                break
            b -= 1
        if b <= a:
            return None
        if kind == PERSON:
            if not any(words[k][:1].isupper() for k in range(a, b)):
                # A name is written with at least one capital; lower-case runs are words.
                return None
            # Hyphenated names are one name: "Hans-Werner", "Siering-Biggen".
            starts, ends = tokens.starts, tokens.ends
            while (
                a >= 2
                and words[a - 1] == "-"
                and ends[a - 2] == starts[a - 1]
                and ends[a - 1] == starts[a]
                and words[a - 2][:1].isupper()
            ):
                a -= 2
            while (
                b + 1 < len(words)
                and words[b] == "-"
                and ends[b - 1] == starts[b]
                and ends[b] == starts[b + 1]
                and words[b + 1][:1].isupper()
            ):
                b += 2
        elif sum(1 for k in range(a, b) if words[k][:1].isalnum()) < 2 or not any(
            words[k].isalpha() and len(words[k]) > 1 for k in range(a, b)
        ):
            # An address has at least two parts, one of them a word.
            return None
        # The score: the CRF's marginal probability of the labels it chose, averaged
        # over the tokens of the span that lie in the tagged window.
        marginal = self._tagger.marginal
        lo, hi = max(a, offset + i), min(b, offset + j)
        total = 0.0
        for t in range(lo - offset, hi - offset):
            total += marginal(ys[t], t)
        score = min(1.0, max(0.0, total / max(1, hi - lo)))
        return Span(tokens.starts[a], tokens.ends[b - 1], kind, score)


@cache
def default_tagger() -> EntityTagger:
    """The tagger shipped with Bastion, loaded on first use."""
    model = resources.files(MODEL_PACKAGE).joinpath(MODEL_RESOURCE).read_bytes()
    return EntityTagger(model)


class _LastResult:
    """The spans of the most recent text, so PERSON and ADDRESS tag it only once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._text: str | None = None
        self._spans: list[Span] = []

    def get(self, text: str) -> list[Span]:
        with self._lock:
            if self._text is not None and (self._text is text or self._text == text):
                return self._spans
        spans = default_tagger().spans(text)
        with self._lock:
            self._text, self._spans = text, spans
        return spans


_last = _LastResult()


def tag(text: str) -> list[Span]:
    """Names and addresses in ``text`` from the shipped model (cached for the last text)."""
    return _last.get(text)


class TaggerRecognizer:
    """A :class:`~bastion.data.detect.base.Recognizer` backed by the shared CRF tagger.

    The PERSON and STREET_ADDRESS recognizers are two instances; the text is tagged
    once and each keeps the spans of its own type.
    """

    def __init__(self, name: str, entity_type: str) -> None:
        if entity_type not in ENTITY_LABELS:
            raise ValueError(f"the tagger does not find {entity_type!r}")
        self.name = name
        self.entity_types = frozenset({entity_type})
        self._type = entity_type

    def find(self, text: str) -> Iterable[Finding]:
        """Spans of this recognizer's type, scored by the CRF's marginals."""
        if not text:
            return []
        return [
            Finding(s.start, s.end, s.type, s.score, self.name)
            for s in tag(text)
            if s.type == self._type
        ]
