"""``bastion data scan|sanitize|add|detokenize|classify|inventory`` end to end: a CSV with
planted values becomes a sanitized file and a vault entry with the right label."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Admin, Cli

# Planted values: a valid SSN, a Luhn-valid Visa test number, an e-mail, a name.
RAW = (
    "id,name,email,ssn,card,notes\n"
    "1,Jane Doe,jane.doe@example.org,123-45-6789,4111 1111 1111 1111,call after 5\n"
    "2,Omar Haddad,omar.h@example.net,234-56-7890,5500 0000 0000 0004,vip\n"
)
POLICY = """\
version = 1
[types]
US_SSN = { action = "mask", keep_last = 4 }
CREDIT_CARD = "redact"
EMAIL_ADDRESS = "pseudonymize"
PERSON = "tokenize"
[columns]
notes = "drop"
"""


def test_scan_sanitize_store_and_inventory(cli: Cli, admin: Admin, tmp_path: Path) -> None:
    raw = tmp_path / "crm.csv"
    raw.write_text(RAW)
    scanned = cli("data", "scan", str(raw), "--full", "--json", "--html", str(tmp_path / "r.html"))
    assert scanned.code == 1, str(scanned)  # sensitive values found
    (doc,) = scanned.json()
    types = {c["name"]: {t["type"] for t in c["types"]} for c in doc["columns"]}
    assert types["ssn"] == {"US_SSN"} and types["card"] == {"CREDIT_CARD"}
    assert types["email"] == {"EMAIL_ADDRESS"} and types["name"] == {"PERSON"}
    assert "123-45-6789" not in scanned.out and "jane.doe@example.org" not in scanned.out
    html = (tmp_path / "r.html").read_text()
    assert "US_SSN" in html and "123-45-6789" not in html

    cli.fails(15, "data.restricted_unsanitized", "data", "add", str(raw), "--name", "crm")

    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    out = tmp_path / "safe.csv"
    report = cli.ok("data", "sanitize", str(raw), "--policy", str(policy), "-o", str(out), "--json")
    assert report.json()["values_changed"] == 8 and report.json()["dropped_columns"] == ["notes"]
    text = out.read_text()
    for secret in ("123-45-6789", "4111 1111", "jane.doe@example.org", "Jane Doe", "vip"):
        assert secret not in text
    assert "***-**-6789" in text and "[CREDIT_CARD]" in text

    again = cli.ok(
        "data", "sanitize", str(out), "--policy", str(policy), "-o", str(tmp_path / "2.csv")
    )
    assert (tmp_path / "2.csv").read_text() == text and "0 value(s) changed" in again.out

    clean_scan = cli("data", "scan", str(out), "--full", "--json")
    assert clean_scan.code == 0, str(clean_scan)

    stored = cli.ok("data", "add", str(out), "--name", "crm", "--json").json()
    assert stored["classification"] == "internal"
    cli.fails(
        15,
        "data.override_reason_missing",
        "data",
        "add",
        str(raw),
        "--name",
        "x",
        "--classification",
        "public",
    )

    token = text.split("<tok:PERSON:")[1].split(">")[0]
    restored = cli.ok("data", "detokenize", stdin=text)
    assert "Jane Doe" in restored.out and "Omar Haddad" in restored.out
    assert cli.ok("data", "detokenize", f"<tok:PERSON:{token}>", "--json").json() == {
        f"<tok:PERSON:{token}>": "Jane Doe"
    }

    cli.ok("data", "classify", "crm", "--level", "confidential", "--reason", "partner share")
    cli.ok("data", "get", "crm", "-o", str(tmp_path / "back.csv"))
    (item,) = cli.ok("data", "inventory", "--json").json()
    assert item["name"] == "crm" and item["classification"] == "confidential"
    assert item["owner"] == "admin" and item["readers"] == {"admin": 1}
    assert item["scan_mode"] == "full" and item["last_scan"]
    events = cli.ok("audit", "query", "--action", "data.classify", "--json").json()
    assert events[0]["details"]["reason"] == "partner share"


def test_scan_errors_and_empty_results(cli: Cli, tmp_path: Path) -> None:
    clean = tmp_path / "clean.csv"
    clean.write_text("city,visits\nLyon,3\n")
    assert cli("data", "scan", str(clean)).code == 0
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"a": 1}\n{"b":\n')
    bad = cli("data", "scan", str(broken), "--json")
    assert bad.code == 2 and bad.json()[0]["error"]["code"] == "data.scan.unreadable"
