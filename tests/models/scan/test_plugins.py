"""Third-party scanners: passed to the Engine, or registered under an entry-point group."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bastion.models.scan import (
    ENTRY_POINT_GROUP,
    Engine,
    Finding,
    ModelScanner,
    ScanFailed,
    Severity,
    Target,
    Verdict,
    scan_bytes,
)
from bastion.models.scan import engine as engine_module
from tests.models.scan import crafted

MAGIC = b"EVILFMT1"


class EvilFormatScanner:
    """Recognises its own magic; reports a high finding where the word 'payload' appears."""

    name = "evilfmt"

    def detect(self, head: bytes, name: str) -> str | None:
        return "evilfmt" if head.startswith(MAGIC) else None

    def scan(self, target: Target) -> list[Finding]:
        data = bytes(target.data)
        if len(data) == len(MAGIC):
            raise ScanFailed("evilfmt file without a body")
        at = data.find(b"payload")
        if at < 0:
            return []
        offset = target.base_offset + at
        return [Finding(Severity.HIGH, self.name, "payload marker", offset, None, target.member)]


def test_entry_point_group_name() -> None:
    assert ENTRY_POINT_GROUP == "bastion.model_scanners"


def test_a_scanner_passed_in_is_used() -> None:
    plugin: ModelScanner = EvilFormatScanner()
    engine = Engine(scanners=[plugin, *engine_module.builtin_scanners()])
    result = engine.scan_bytes(MAGIC + b"...payload...", "thing.bin")
    assert result.verdict is Verdict.MALICIOUS
    assert result.format == "evilfmt"
    (finding,) = result.findings
    assert (finding.scanner, finding.offset) == ("evilfmt", len(MAGIC) + 3)
    assert engine.scan_bytes(MAGIC + b"fine", "thing.bin").verdict is Verdict.CLEAN
    failed = engine.scan_bytes(MAGIC, "thing.bin")
    assert (failed.verdict, failed.error) == (Verdict.ERROR, "evilfmt file without a body")
    # The built-ins still work beside it.
    assert engine.scan_bytes(crafted.system_call(4, "true")[0], "m.pkl").flagged


def test_without_the_plugin_the_format_is_unknown() -> None:
    result = scan_bytes(MAGIC + b"\x00payload", "thing.bin")
    assert result.verdict is Verdict.ERROR
    assert result.error and "unsupported format" in result.error


def test_only_the_given_scanners_run() -> None:
    engine = Engine(scanners=[EvilFormatScanner()])
    result = engine.scan_bytes(crafted.system_call(4, "true")[0], "m.pkl")
    assert result.verdict is Verdict.ERROR


def test_nested_content_reaches_plugins() -> None:
    # A plugin format inside a zip is handed to the plugin through the engine.
    engine = Engine(scanners=[EvilFormatScanner(), *engine_module.builtin_scanners()])
    archive = crafted.zip_of([("inner.evil", MAGIC + b"payload")])
    result = engine.scan_bytes(archive, "bundle.zip")
    assert result.verdict is Verdict.MALICIOUS
    (finding,) = result.findings
    assert finding.member == "inner.evil"
    assert finding.offset == archive.index(b"payload")


@dataclass
class FakeEntryPoint:
    name: str
    factory: type

    def load(self) -> type:
        return self.factory


def test_entry_points_are_registered_first(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    groups: list[str] = []

    def entry_points(*, group: str) -> list[FakeEntryPoint]:
        groups.append(group)
        return [
            FakeEntryPoint("evilfmt", EvilFormatScanner),
            FakeEntryPoint("pickle", EvilFormatScanner),  # a built-in's name is not replaced
        ]

    monkeypatch.setattr(engine_module, "entry_points", entry_points)
    # Plugin discovery is cached per process: start from, and leave, an empty cache.
    engine_module._plugin_entry_points.cache_clear()
    request.addfinalizer(engine_module._plugin_entry_points.cache_clear)
    scanners = engine_module.registered_scanners()
    engine_module.registered_scanners()  # cached: the distributions are read only once
    assert groups == ["bastion.model_scanners"]
    assert isinstance(scanners[0], EvilFormatScanner)
    assert [s.name for s in scanners].count("pickle") == 1
    assert sum(isinstance(s, EvilFormatScanner) for s in scanners) == 1
    assert Engine().scan_bytes(MAGIC + b"payload", "x.bin").verdict is Verdict.MALICIOUS
