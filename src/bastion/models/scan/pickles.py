"""Pickle opcode analysis, protocols 0 to 5, without unpickling anything.

A symbolic stack machine follows the opcodes that ``pickletools`` decodes: it keeps
constants, containers (capped), the memo and the objects that REDUCE / NEWOBJ / BUILD
would make, so that a ``STACK_GLOBAL`` whose module and name come through the memo
still resolves to a name, and one whose names are computed at load time (``codecs.decode``
of rot13 text) is reported as such. Every imported global is judged by
:mod:`bastion.models.scan.policy`. Bytes constants that are themselves pickles, NumPy
files or archives are scanned as nested content. joblib streams interleave raw array
bytes with opcodes: after the ``BUILD`` of a ``NumpyArrayWrapper`` the array's length
is computed from its recorded shape and dtype and skipped, and an object array's nested
pickle is analysed in turn.
"""

from __future__ import annotations

import contextlib
import io
import math
import mmap
import pickletools
import re
import struct
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bastion.models.scan.base import Finding, ScanFailed, Severity
from bastion.models.scan.policy import judge_global

if TYPE_CHECKING:
    from bastion.models.scan.engine import Target

SCANNER = "pickle"
MAX_CONTAINER_ITEMS = 256  # items kept per list/dict/tuple; the rest are counted, not kept
MAX_STRING = 1 << 20  # longer strings are kept by length only
MAX_NESTED_BYTES = 64 << 20  # bytes constants scanned as nested content up to this size
_PICKLE_HEAD = re.compile(rb"\x80[\x00-\x05]")
_JOBLIB_WRAPPERS = frozenset(
    {
        "joblib.numpy_pickle.NumpyArrayWrapper",
        "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
    }
)
_DTYPE_SIZES = {"b": 1, "i": None, "u": None, "f": None, "c": None, "m": 8, "M": 8, "?": 1}

# Scans nested bytes (a pickle inside a pickle, an .npy inside a pickle) and returns findings.
NestedScan = Callable[[bytes, int], list[Finding]]


class _Mark:
    __slots__ = ()


_MARK = _Mark()


@dataclass(eq=False)
class Global:
    """A name the unpickler would import."""

    module: str
    name: str

    @property
    def dotted(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(eq=False)
class Made:
    """What calling ``func`` with ``args`` would make (REDUCE, NEWOBJ, INST, OBJ)."""

    func: Any
    args: Any
    state: Any = None


class Opaque:
    """A value that exists only at load time (buffers, persistent ids, extensions)."""

    __slots__ = ()


_OPAQUE = Opaque()


@dataclass(eq=False)
class Seq:
    """A list, tuple or set, capped at MAX_CONTAINER_ITEMS kept items."""

    items: list[Any] = field(default_factory=list)
    dropped: int = 0

    def add(self, values: list[Any]) -> None:
        room = MAX_CONTAINER_ITEMS - len(self.items)
        self.items.extend(values[: max(room, 0)])
        self.dropped += max(len(values) - max(room, 0), 0)


@dataclass(eq=False)
class Mapping:
    """A dict as key/value pairs (keys need not be hashable here), capped."""

    pairs: list[tuple[Any, Any]] = field(default_factory=list)
    dropped: int = 0

    def add(self, values: list[Any]) -> None:
        for i in range(0, len(values) - 1, 2):
            if len(self.pairs) < MAX_CONTAINER_ITEMS:
                self.pairs.append((values[i], values[i + 1]))
            else:
                self.dropped += 1

    def get(self, key: str) -> Any:
        for k, v in self.pairs:
            if k == key:
                return v
        return None


@dataclass
class PickleReport:
    """What one pass over a pickle stream found."""

    findings: list[Finding] = field(default_factory=list)
    globals_seen: list[str] = field(default_factory=list)
    end: int = 0
    pickles: int = 0


class _Skip(Exception):
    """Raised inside the opcode loop to hand raw (non-opcode) bytes to the driver."""

    def __init__(self, kind: str, nbytes: int, align: bool) -> None:
        self.kind = kind
        self.nbytes: int = nbytes
        self.align = align


class PickleAnalyzer:
    """Walks one buffer of pickle data (several pickles in a row are allowed)."""

    def __init__(
        self,
        data: bytes | memoryview | mmap.mmap,
        *,
        base_offset: int = 0,
        member: str | None = None,
        nested: NestedScan | None = None,
        deadline: float | None = None,
    ) -> None:
        self._data = data
        # An mmap reads, seeks and tells like a file: no copy of a large model.
        self._buf: Any = data if isinstance(data, mmap.mmap) else io.BytesIO(data)
        self._size = len(data)
        self._base = base_offset
        self._member = member
        self._nested = nested
        self._deadline = deadline
        self.report = PickleReport()
        self._stack: list[Any] = []
        self._memo: dict[int, Any] = {}
        self._ops = 0
        self._next = 0  # offset just after the opcode being handled

    # -- findings -----------------------------------------------------------------

    def _finding(self, severity: Severity, detail: str, pos: int, name: str | None = None) -> None:
        self.report.findings.append(
            Finding(severity, SCANNER, detail, self._base + pos, name, self._member)
        )

    def _import(self, module: str, name: str, pos: int) -> Global:
        ref = Global(module, name)
        judgement = judge_global(module, name)
        self.report.globals_seen.append(ref.dotted)
        if judgement.severity is not None:
            self._finding(judgement.severity, judgement.reason, pos, ref.dotted)
        return ref

    # -- stack --------------------------------------------------------------------

    def _pop(self) -> Any:
        if not self._stack:
            raise ScanFailed("malformed pickle: stack underflow")
        value = self._stack.pop()
        if value is _MARK:
            raise ScanFailed("malformed pickle: unexpected MARK")
        return value

    def _pop_mark(self) -> list[Any]:
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i] is _MARK:
                items = self._stack[i + 1 :]
                del self._stack[i:]
                return items
        raise ScanFailed("malformed pickle: no MARK on the stack")

    def _top(self) -> Any:
        if not self._stack or self._stack[-1] is _MARK:
            raise ScanFailed("malformed pickle: empty stack")
        return self._stack[-1]

    # -- driver -------------------------------------------------------------------

    def run(self, start: int = 0) -> PickleReport:
        """Analyse every pickle from ``start``, then every complete pickle that follows.

        Loaders such as legacy ``torch.load`` call ``pickle.load`` several times on one
        stream, so a second pickle, with or without a PROTO header, runs too. Bytes after
        the first pickle that do not parse to a STOP are data (storages, padding): their
        would-be findings are dropped, since no loader could execute them as a pickle.
        """
        pos = self._one_pickle(start)
        self.report.pickles = 1
        while pos < self._size:
            kept = len(self.report.findings), len(self.report.globals_seen)
            try:
                end = self._one_pickle(pos)
            except ScanFailed:
                del self.report.findings[kept[0] :]
                del self.report.globals_seen[kept[1] :]
                break
            if end <= pos:
                break
            pos = end
            self.report.pickles += 1
        self.report.end = pos
        return self.report

    def _one_pickle(self, pos: int) -> int:
        self._stack.clear()
        self._memo.clear()
        while True:
            try:
                return self._walk(pos)
            except _Skip as skip:
                pos = self._skip_raw(skip)

    def _walk(self, pos: int) -> int:
        """Decode opcodes from ``pos`` to STOP, handing each to its handler.

        Binary opcodes (nearly all of any real model) are decoded here by table; the
        text opcodes of protocols 0 and 1 go through ``pickletools``' own readers, so
        their quoting and escapes are read exactly as pickletools reads them.
        """
        data, size, deadline, fast_ops = self._data, self._size, self._deadline, _FAST_OPS
        ops = self._ops
        try:
            while pos < size:
                start = pos
                fast = fast_ops.get(data[pos])
                if fast is None:
                    name, arg, pos = self._slow_op(data[pos], pos)
                    handler = _DISPATCH.get(name)
                else:
                    name, kind, width, handler = fast
                    pos += 1
                    if kind == _NONE:
                        arg = None
                    else:
                        end = pos + width
                        if end > size:
                            raise ScanFailed(f"truncated pickle: {name} at byte {start}")
                        if kind == _UINT:
                            arg = int.from_bytes(data[pos:end], "little")
                        elif kind == _INT:
                            arg = int.from_bytes(data[pos:end], "little", signed=True)
                        elif kind == _FLOAT:
                            (arg,) = _BIG_DOUBLE.unpack(data[pos:end])
                        else:  # a length field, then that many bytes
                            signed = kind == _SIGNED_LEN
                            length = int.from_bytes(data[pos:end], "little", signed=signed)
                            if length < 0 or end + length > size:
                                raise ScanFailed(f"truncated pickle: {name} at byte {start}")
                            raw = bytes(data[end : end + length])
                            end += length
                            arg = _convert(name, raw)
                        pos = end
                if handler is None:  # STOP
                    self._ops = ops
                    return pos
                ops += 1
                if not ops & 0xFFF and deadline and time.monotonic() > deadline:
                    raise ScanFailed("time limit exceeded while walking pickle opcodes")
                self._next = pos
                handler(self, name, arg, start)
        except (ValueError, struct.error) as exc:
            raise ScanFailed(f"malformed or truncated pickle: {exc}") from None
        except RecursionError:
            raise ScanFailed("malformed pickle: nesting too deep") from None
        raise ScanFailed("truncated pickle: no STOP opcode")

    def _slow_op(self, code: int, pos: int) -> tuple[str, Any, int]:
        op = _CODE2OP.get(chr(code))
        if op is None:
            raise ScanFailed(f"malformed pickle: unknown opcode {code:#04x} at byte {pos}")
        self._buf.seek(pos + 1)
        with warnings.catch_warnings():
            # pickletools decodes STRING and GLOBAL lines with escape_decode, which warns
            # on an invalid escape: hostile bytes must not become warnings (or, under
            # -W error, exceptions). The text is judged as decoded.
            warnings.simplefilter("ignore", DeprecationWarning)
            arg = op.arg.reader(self._buf) if op.arg is not None else None
        return op.name, arg, int(self._buf.tell())

    def _skip_raw(self, skip: _Skip) -> int:
        pos = self._next  # just after the BUILD that announced the raw bytes
        if skip.align:
            if pos >= self._size:
                raise ScanFailed("truncated joblib array padding")
            pos += 1 + self._data[pos]
        if skip.kind == "pickle":
            # joblib pickles object arrays as a whole nested pickle in the same stream.
            inner = PickleAnalyzer(
                self._data,
                base_offset=self._base,
                member=self._member,
                nested=self._nested,
                deadline=self._deadline,
            )
            end = inner._one_pickle(pos)
            self.report.findings.extend(inner.report.findings)
            self.report.globals_seen.extend(inner.report.globals_seen)
            return int(end)
        if pos + skip.nbytes > self._size:
            raise ScanFailed("truncated joblib array data")
        return int(pos + skip.nbytes)

    # -- opcodes ------------------------------------------------------------------

    # One small handler per family of opcodes, found through a table (below the class):
    # a chain of comparisons per opcode was most of the scan's time.

    def _step(self, name: str, arg: Any, pos: int) -> None:
        _DISPATCH[name](self, name, arg, pos)

    def _op_ignore(self, name: str, arg: Any, pos: int) -> None:
        """PROTO and FRAME change nothing the analysis tracks."""

    def _op_mark(self, name: str, arg: Any, pos: int) -> None:
        self._stack.append(_MARK)

    def _op_value(self, name: str, arg: Any, pos: int) -> None:
        self._stack.append(arg)

    def _op_constant(self, name: str, arg: Any, pos: int) -> None:
        self._stack.append({"NEWTRUE": True, "NEWFALSE": False, "NONE": None}[name])

    def _op_string(self, name: str, arg: Any, pos: int) -> None:
        self._stack.append(arg if len(arg) <= MAX_STRING else _OPAQUE)

    def _op_bytes(self, name: str, arg: Any, pos: int) -> None:
        # Nested findings are placed from where the bytes start, after the length field.
        self._bytes_constant(bytes(arg), self._next - len(arg))
        self._stack.append(_OPAQUE)

    def _op_opaque(self, name: str, arg: Any, pos: int) -> None:
        self._stack.append(_OPAQUE)

    def _op_empty_seq(self, name: str, arg: Any, pos: int) -> None:
        self._stack.append(Seq())

    def _op_empty_dict(self, name: str, arg: Any, pos: int) -> None:
        self._stack.append(Mapping())

    def _op_seq(self, name: str, arg: Any, pos: int) -> None:
        seq = Seq()
        seq.add(self._pop_mark())
        self._stack.append(seq)

    def _op_tuple_n(self, name: str, arg: Any, pos: int) -> None:
        items = [self._pop() for _ in range(int(name[-1]))][::-1]
        self._stack.append(Seq(items))

    def _op_dict(self, name: str, arg: Any, pos: int) -> None:
        mapping = Mapping()
        mapping.add(self._pop_mark())
        self._stack.append(mapping)

    def _op_append(self, name: str, arg: Any, pos: int) -> None:
        value = self._pop()
        self._extend(self._top(), [value])

    def _op_extend(self, name: str, arg: Any, pos: int) -> None:  # APPENDS ADDITEMS SETITEMS
        values = self._pop_mark()
        self._extend(self._top(), values)

    def _op_setitem(self, name: str, arg: Any, pos: int) -> None:
        value, key = self._pop(), self._pop()
        self._extend(self._top(), [key, value])

    def _op_pop(self, name: str, arg: Any, pos: int) -> None:
        if self._stack and self._stack[-1] is _MARK:
            self._stack.pop()
        else:
            self._pop()

    def _op_pop_mark(self, name: str, arg: Any, pos: int) -> None:
        self._pop_mark()

    def _op_dup(self, name: str, arg: Any, pos: int) -> None:
        self._stack.append(self._top())

    def _op_get(self, name: str, arg: Any, pos: int) -> None:
        try:
            self._stack.append(self._memo[arg])
        except KeyError:
            raise ScanFailed(
                f"malformed pickle: memo key {arg} read before it was written"
            ) from None

    def _op_put(self, name: str, arg: Any, pos: int) -> None:
        self._memo[arg] = self._top()

    def _op_memoize(self, name: str, arg: Any, pos: int) -> None:
        self._memo[len(self._memo)] = self._top()

    def _op_global(self, name: str, arg: Any, pos: int) -> None:  # GLOBAL INST
        module, _, attr = str(arg).partition(" ")
        ref = self._import(module, attr, pos)
        if name == "INST":
            self._stack.append(Made(ref, Seq(self._pop_mark())))
        else:
            self._stack.append(ref)

    def _op_stack_global(self, name: str, arg: Any, pos: int) -> None:
        attr, module = self._pop(), self._pop()
        if isinstance(module, str) and isinstance(attr, str):
            self._stack.append(self._import(module, attr, pos))
            return
        self._finding(
            Severity.CRITICAL,
            "STACK_GLOBAL imports a name computed at load time "
            f"({_describe(module)}.{_describe(attr)})",
            pos,
        )
        self._stack.append(_OPAQUE)

    def _op_reduce(self, name: str, arg: Any, pos: int) -> None:
        args, func = self._pop(), self._pop()
        self._call(func, args, pos)

    def _op_obj(self, name: str, arg: Any, pos: int) -> None:
        items = self._pop_mark()
        if not items:
            raise ScanFailed("malformed pickle: OBJ without a class")
        self._call(items[0], Seq(items[1:]), pos)

    def _op_newobj(self, name: str, arg: Any, pos: int) -> None:
        if name == "NEWOBJ_EX":
            self._pop()  # keyword arguments
        args, cls = self._pop(), self._pop()
        self._call(cls, args, pos)

    def _op_build(self, name: str, arg: Any, pos: int) -> None:
        state = self._pop()
        self._build(self._top(), state, pos)

    def _op_binpersid(self, name: str, arg: Any, pos: int) -> None:
        self._pop()
        self._stack.append(_OPAQUE)

    def _op_ext(self, name: str, arg: Any, pos: int) -> None:
        self._finding(
            Severity.HIGH,
            f"{name} imports through the copyreg extension registry (code {arg})",
            pos,
        )
        self._stack.append(_OPAQUE)

    @staticmethod
    def _extend(target: Any, values: list[Any]) -> None:
        if isinstance(target, Seq | Mapping):
            target.add(values)
        # Appending to something built at load time (a list subclass, say) is fine to ignore:
        # the class doing the appending was judged when it was imported.

    def _call(self, func: Any, args: Any, pos: int) -> None:
        if not isinstance(func, Global):
            self._finding(
                Severity.HIGH,
                f"calls {_describe(func)}, a callable produced at load time",
                pos,
            )
        elif func.dotted in ("_codecs.encode", "codecs.encode") and isinstance(args, Seq):
            # Protocol 2 writes bytes as _codecs.encode(text, 'latin1'): look inside.
            text = args.items[0] if args.items else None
            if isinstance(text, str) and len(text) <= MAX_NESTED_BYTES:
                with contextlib.suppress(UnicodeEncodeError):
                    self._bytes_constant(text.encode("latin-1"), pos)
        self._stack.append(Made(func, args))

    def _build(self, target: Any, state: Any, pos: int) -> None:
        if isinstance(target, Made):
            target.state = state
            if isinstance(target.func, Global) and target.func.dotted in _JOBLIB_WRAPPERS:
                raise _joblib_array(state)
        elif not isinstance(target, Global | Opaque):
            # BUILD on a plain container would call nothing; on a class it sets attributes.
            return

    def _bytes_constant(self, data: bytes, pos: int) -> None:
        if self._nested is None or len(data) > MAX_NESTED_BYTES or len(data) < 4:
            return
        if (
            _PICKLE_HEAD.match(data)
            or data.startswith(b"\x93NUMPY")
            or data.startswith(b"PK\x03\x04")
        ):
            for finding in self._nested(data, self._base + pos):
                self.report.findings.append(finding)


_Handler = Callable[[PickleAnalyzer, str, Any, int], None]
_FAMILIES: dict[_Handler, tuple[str, ...]] = {
    PickleAnalyzer._op_ignore: ("PROTO", "FRAME"),
    PickleAnalyzer._op_mark: ("MARK",),
    PickleAnalyzer._op_value: (
        "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "FLOAT", "BINFLOAT",
    ),
    PickleAnalyzer._op_constant: ("NEWTRUE", "NEWFALSE", "NONE"),
    PickleAnalyzer._op_string: (
        "STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE",
        "BINUNICODE8",
    ),
    PickleAnalyzer._op_bytes: ("BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8"),
    PickleAnalyzer._op_opaque: ("NEXT_BUFFER", "READONLY_BUFFER", "PERSID"),
    PickleAnalyzer._op_empty_seq: ("EMPTY_LIST", "EMPTY_TUPLE", "EMPTY_SET"),
    PickleAnalyzer._op_empty_dict: ("EMPTY_DICT",),
    PickleAnalyzer._op_seq: ("LIST", "TUPLE", "FROZENSET"),
    PickleAnalyzer._op_tuple_n: ("TUPLE1", "TUPLE2", "TUPLE3"),
    PickleAnalyzer._op_dict: ("DICT",),
    PickleAnalyzer._op_append: ("APPEND",),
    PickleAnalyzer._op_extend: ("APPENDS", "ADDITEMS", "SETITEMS"),
    PickleAnalyzer._op_setitem: ("SETITEM",),
    PickleAnalyzer._op_pop: ("POP",),
    PickleAnalyzer._op_pop_mark: ("POP_MARK",),
    PickleAnalyzer._op_dup: ("DUP",),
    PickleAnalyzer._op_get: ("GET", "BINGET", "LONG_BINGET"),
    PickleAnalyzer._op_put: ("PUT", "BINPUT", "LONG_BINPUT"),
    PickleAnalyzer._op_memoize: ("MEMOIZE",),
    PickleAnalyzer._op_global: ("GLOBAL", "INST"),
    PickleAnalyzer._op_stack_global: ("STACK_GLOBAL",),
    PickleAnalyzer._op_reduce: ("REDUCE",),
    PickleAnalyzer._op_obj: ("OBJ",),
    PickleAnalyzer._op_newobj: ("NEWOBJ", "NEWOBJ_EX"),
    PickleAnalyzer._op_build: ("BUILD",),
    PickleAnalyzer._op_binpersid: ("BINPERSID",),
    PickleAnalyzer._op_ext: ("EXT1", "EXT2", "EXT4"),
}  # fmt: skip
_DISPATCH: dict[str, _Handler] = {
    name: handler for handler, names in _FAMILIES.items() for name in names
}

# Binary opcodes decoded inline: (name, kind, width of the fixed part).
_NONE, _UINT, _INT, _FLOAT, _LEN, _SIGNED_LEN = range(6)
_BIG_DOUBLE = struct.Struct(">d")
_CODE2OP = {op.code: op for op in pickletools.opcodes}
_ARG_KIND: dict[str, tuple[int, int]] = {
    "uint1": (_UINT, 1), "uint2": (_UINT, 2), "uint4": (_UINT, 4), "uint8": (_UINT, 8),
    "int4": (_INT, 4), "float8": (_FLOAT, 8),
    "long1": (_LEN, 1), "long4": (_SIGNED_LEN, 4),
    "string1": (_LEN, 1), "string4": (_SIGNED_LEN, 4),
    "bytes1": (_LEN, 1), "bytes4": (_LEN, 4), "bytes8": (_LEN, 8), "bytearray8": (_LEN, 8),
    "unicodestring1": (_LEN, 1), "unicodestring4": (_LEN, 4), "unicodestring8": (_LEN, 8),
}  # fmt: skip
# code -> (name, argument kind, fixed width, handler); the handler of STOP is None.
_FAST_OPS: dict[int, tuple[str, int, int, _Handler | None]] = {
    ord(op.code): (
        op.name,
        *(_ARG_KIND[op.arg.name] if op.arg is not None else (_NONE, 0)),
        _DISPATCH.get(op.name),
    )
    for op in pickletools.opcodes
    if op.arg is None or op.arg.name in _ARG_KIND
}


def _convert(name: str, raw: bytes) -> Any:
    """The value of a length-prefixed argument, decoded as pickletools decodes it."""
    if name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8"):
        return raw.decode("utf-8", "surrogatepass")
    if name in ("SHORT_BINSTRING", "BINSTRING"):
        return raw.decode("latin-1")
    if name in ("LONG1", "LONG4"):
        return int.from_bytes(raw, "little", signed=True)
    if name == "BYTEARRAY8":
        return bytearray(raw)
    return raw


# Every opcode pickletools can decode has a handler (STOP ends the walk before dispatch).
assert set(_DISPATCH) | {"STOP"} == {op.name for op in pickletools.opcodes}


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return repr(value[:60])
    if isinstance(value, Global):
        return value.dotted
    if isinstance(value, Made):
        return f"the result of {_describe(value.func)}(...)"
    return "a load-time value"


def _joblib_array(state: Any) -> _Skip:
    """How many raw bytes follow a NumpyArrayWrapper's BUILD."""
    if not isinstance(state, Mapping):
        raise ScanFailed("joblib array wrapper without a state dict")
    shape, dtype = state.get("shape"), state.get("dtype")
    align = state.get("numpy_array_alignment_bytes") is not None
    itemsize, has_object = _dtype_size(dtype)
    if has_object:
        return _Skip("pickle", 0, align=False)
    if not isinstance(shape, Seq) or not all(isinstance(d, int) and d >= 0 for d in shape.items):
        raise ScanFailed("joblib array wrapper with an unreadable shape")
    return _Skip("raw", math.prod(shape.items) * itemsize, align)


def _dtype_size(dtype: Any) -> tuple[int, bool]:
    """Item size of a pickled ``numpy.dtype(code, ...)`` and whether it holds objects."""
    if not (isinstance(dtype, Made) and isinstance(dtype.func, Global)):
        raise ScanFailed("joblib array wrapper without a readable dtype")
    if (
        dtype.func.dotted != "numpy.dtype"
        or not isinstance(dtype.args, Seq)
        or not dtype.args.items
    ):
        raise ScanFailed("joblib array wrapper with an unsupported dtype")
    code = dtype.args.items[0]
    if not isinstance(code, str) or not code:
        raise ScanFailed("joblib array wrapper with an unreadable dtype code")
    kind, digits = code[0], code[1:]
    if kind == "O":
        return 8, True
    state = dtype.state
    # numpy's dtype state tuple: (version, byteorder, subarray, names, fields, elsize, ...).
    if isinstance(state, Seq) and len(state.items) > 5:
        elsize = state.items[5]  # set for flexible and structured dtypes, -1 otherwise
        if isinstance(elsize, int) and elsize > 0:
            return elsize, False
    if kind in _DTYPE_SIZES and digits.isdigit():
        return int(digits), False
    if kind in ("b", "?") and not digits:
        return 1, False
    raise ScanFailed(f"joblib array wrapper with dtype {code!r}")


_PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".pt", ".pth", ".bin", ".ckpt", ".p", ".sav")
# Pickles without a PROTO header (protocols 0 and 1, or a hand-made stream: the
# unpickler accepts any opcode without one) start with an opcode that needs an empty
# stack: these. A text-like start (")0cos..." or "C\x01a0cos...") must not pass as text.
_PROTO01_FIRST = frozenset(b"(cdl]}NIJKLSVFGTUXiMptq)BCP\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x95\x96")


class PickleScanner:
    """Raw pickles (protocols 0-5), joblib streams and legacy ``torch.save`` files."""

    name = "pickle"

    def detect(self, head: bytes, name: str) -> str | None:
        if _PICKLE_HEAD.match(head):
            return "joblib" if b"joblib" in head or name.endswith(".joblib") else "pickle"
        if head and head[0] in _PROTO01_FIRST and name.lower().endswith(_PICKLE_SUFFIXES):
            return "pickle"
        return None

    def scan(self, target: Target) -> list[Finding]:
        def nested(data: bytes, offset: int) -> list[Finding]:
            try:
                return target.nested(data, "nested", base_offset=offset)
            except ScanFailed:
                # Bytes that merely start like a pickle (tensor data) are not content.
                return []

        analyzer = PickleAnalyzer(
            target.data,
            base_offset=target.base_offset,
            member=target.member,
            nested=nested,
            deadline=target.deadline,
        )
        try:
            report = analyzer.run()
        except ScanFailed as exc:
            raise ScanFailed(str(exc), analyzer.report.findings) from None
        return report.findings
