"""IP_ADDRESS: IPv4 and IPv6, not versions, times, hashes or UUIDs."""

from __future__ import annotations

import pytest

from bastion.data.detect.recognizers.ip import RECOGNIZERS
from bastion.data.detect.registry import Detector

DETECTOR = Detector(recognizers=RECOGNIZERS)


def found(text: str) -> list[str]:
    return [text[f.start : f.end] for f in DETECTOR.detect(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("login from 203.0.113.7 failed", ["203.0.113.7"]),
        ("src_ip=10.0.0.1:8080", ["10.0.0.1"]),
        ("route 192.168.0.0/16.", ["192.168.0.0"]),
        ("edge 0.0.0.0 and 255.255.255.255", ["0.0.0.0", "255.255.255.255"]),
        ("v6 2001:db8:85a3:0:0:8a2e:370:7334 up", ["2001:db8:85a3:0:0:8a2e:370:7334"]),
        ("v6 2001:db8::1 up", ["2001:db8::1"]),
        ("link fe80::1%eth0", ["fe80::1"]),
        ("mapped ::ffff:192.0.2.128 here", ["::ffff:192.0.2.128"]),
        ("[2001:db8::8a2e:370:7334]:443", ["2001:db8::8a2e:370:7334"]),
        ("name,last_ip\nAna,198.51.100.23\n", ["198.51.100.23"]),
    ],
)
def test_addresses(text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "octet 256.1.1.1",
        "version 10.2.0.15",
        "Version: 4.1.0.7",
        "release 1.2.3.4 shipped",
        "bumped to 2.24.18.7",
        "build=10.0.19041.1",
        "app v1.2.3.4",
        "five parts 1.2.3.4.5",
        "Requires-Dist: brotlicffi>=1.2.0.0",
        'ObjectIdentifier("2.5.29.37") and RFC 5445 3.8.2.4 and § 8.6.2.3',
        "name,app_version\nAna,10.2.0.15\n",
        "at 10:15:30 and 2024-06-16T10:15:30Z",
        "mac 00:1a:2b:3c:4d:5e",
        "call Foo::bar and std::vector",
        "uuid 123e4567-e89b-12d3-a456-426614174000",
        "sha d41d8cd98f00b204e9800998ecf8427e",
        "too many 1:2:3:4:5:6:7:8:9",
        "slices r[::2] and x[1::2]",  # too short to tell from code (loopback ::1 too)
    ],
)
def test_not_addresses(text: str) -> None:
    assert found(text) == []
