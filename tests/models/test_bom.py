"""The CycloneDX 1.6 ML-BOM: schema-valid, complete, deterministic, and strict on input."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from importlib import metadata
from typing import Any
from uuid import UUID

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from bastion.errors import InvalidInput
from bastion.models import bom as bom_module
from bastion.models.bom import BomDataset, BomModel, build_bom, normalize_name, validate_bom

SERIAL = UUID("6d3f1a52-93b2-4c1e-9d0e-2a5b7c8e9f10")
NOW = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
MODEL_SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
CUSTOMERS = BomDataset("customers", 2, "a" * 64, "confidential")
EVENTS = BomDataset("events", 7, "B" * 64, "internal")
MODEL = BomModel(
    name="churn",
    version=3,
    sha256=MODEL_SHA,
    size=48_213,
    format="pickle",
    framework="scikit-learn",
    stage="production",
    owner="alice",
    created_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
    signature_key_id=None,
    scan_verdict="clean",
    datasets=(CUSTOMERS, EVENTS),
)


@pytest.fixture(scope="module")
def doc_text() -> str:
    return build_bom(MODEL, serial=SERIAL, now=NOW)


@pytest.fixture(scope="module")
def doc(doc_text: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(doc_text)
    return parsed


def by_ref(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["bom-ref"]: c for c in doc["components"]}


def props(component: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in component.get("properties", [])}


def test_the_bom_conforms_to_the_cyclonedx_1_6_schema(doc_text: str, doc: dict[str, Any]) -> None:
    validate_bom(doc_text)
    # And independently of validate_bom, with the library's own 1.6 validator.
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(doc_text) is None
    assert doc["bomFormat"] == "CycloneDX"
    assert doc["specVersion"] == "1.6"


def test_the_model_is_the_subject_with_its_digest_and_facts(doc: dict[str, Any]) -> None:
    model = doc["metadata"]["component"]
    assert model["type"] == "machine-learning-model"
    assert model["name"] == "churn"
    assert model["version"] == "v3"
    assert model["bom-ref"] == "model:churn@v3"
    assert model["hashes"] == [{"alg": "SHA-256", "content": MODEL_SHA}]
    assert model["purl"] == f"pkg:generic/bastion-model/churn@v3?checksum=sha256:{MODEL_SHA}"
    assert props(model) == {
        "bastion:format": "pickle",
        "bastion:framework": "scikit-learn",
        "bastion:stage": "production",
        "bastion:owner": "alice",
        "bastion:created_at": "2026-03-01T09:00:00+00:00",
        "bastion:size_bytes": "48213",
        "bastion:scan_verdict": "clean",
        "bastion:signature_key_id": "unsigned",
    }
    assert doc["metadata"]["tools"]["components"][0]["name"] == "bastion"


def test_each_dataset_is_a_data_component_with_digest_and_classification(
    doc: dict[str, Any],
) -> None:
    components = by_ref(doc)
    customers = components["dataset:customers@v2"]
    events = components["dataset:events@v7"]
    assert customers["type"] == events["type"] == "data"
    assert customers["hashes"] == [{"alg": "SHA-256", "content": "a" * 64}]
    assert events["hashes"] == [{"alg": "SHA-256", "content": "b" * 64}]  # normalized
    assert customers["data"] == [
        {"type": "dataset", "name": "customers", "classification": "confidential"}
    ]
    assert props(events) == {"bastion:classification": "internal"}
    assert [c for c in doc["components"] if c["type"] == "data"] == [customers, events]


def test_every_installed_distribution_is_a_pypi_library(doc: dict[str, Any]) -> None:
    libraries = {c["name"]: c for c in doc["components"] if c["type"] == "library"}
    crypto_version = metadata.version("cryptography")
    assert libraries["cryptography"]["version"] == crypto_version
    assert libraries["cryptography"]["purl"] == f"pkg:pypi/cryptography@{crypto_version}"
    assert libraries["cyclonedx-python-lib"]["version"] == metadata.version("cyclonedx-python-lib")
    installed = {normalize_name(d.metadata["Name"]) for d in metadata.distributions()}
    # Every installed distribution once, plus the framework the model needs if it is not.
    assert set(libraries) == installed | {"scikit-learn"}
    names = [c["name"] for c in doc["components"] if c["type"] == "library"]
    assert len(names) == len(set(names))
    assert all(n == normalize_name(n) for n in names)
    assert all(c["purl"].startswith("pkg:pypi/") for c in libraries.values())


def sklearn_ref() -> str:
    """scikit-learn's bom-ref: with its version where installed, bare where not."""
    try:
        return f"pkg:pypi/scikit-learn@{metadata.version('scikit-learn')}"
    except metadata.PackageNotFoundError:
        return "pkg:pypi/scikit-learn"


def test_the_model_depends_on_its_datasets_and_framework(doc: dict[str, Any]) -> None:
    graph = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert sorted(graph["model:churn@v3"]) == [
        "dataset:customers@v2",
        "dataset:events@v7",
        sklearn_ref(),
    ]
    refs = {c["bom-ref"] for c in doc["components"]} | {"model:churn@v3"}
    assert set(graph) == refs


def test_an_installed_framework_is_linked_at_its_installed_version() -> None:
    # A framework missing from the table is read as a PyPI name.
    model = replace(MODEL, framework="Cryptography", datasets=())
    doc = json.loads(build_bom(model, serial=SERIAL, now=NOW))
    version = metadata.version("cryptography")
    graph = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert graph["model:churn@v3"] == [f"pkg:pypi/cryptography@{version}"]


def test_a_framework_that_is_not_installed_is_named_without_a_version() -> None:
    model = replace(MODEL, framework="zz-framework-not-installed", datasets=())
    doc = json.loads(build_bom(model, serial=SERIAL, now=NOW))
    graph = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert graph["model:churn@v3"] == ["pkg:pypi/zz-framework-not-installed"]
    missing = by_ref(doc)["pkg:pypi/zz-framework-not-installed"]
    assert missing["type"] == "library"
    assert "version" not in missing


def test_the_model_card_names_datasets_and_risks(doc: dict[str, Any]) -> None:
    card = doc["metadata"]["component"]["modelCard"]
    assert card["modelParameters"]["datasets"] == [
        {"ref": "dataset:customers@v2"},
        {"ref": "dataset:events@v7"},
    ]
    limitations = card["considerations"]["technicalLimitations"]
    assert any("pickle" in line and "run code" in line for line in limitations)
    assert any("Not signed" in line for line in limitations)


def test_a_signed_clean_safetensors_model_has_no_limitations_listed() -> None:
    model = replace(MODEL, format="safetensors", signature_key_id="k-2026-01", scan_verdict="clean")
    doc = json.loads(build_bom(model, include_environment=False, serial=SERIAL, now=NOW))
    model_component = doc["metadata"]["component"]
    assert "considerations" not in model_component["modelCard"]
    assert props(model_component)["bastion:signature_key_id"] == "k-2026-01"


def test_without_environment_only_datasets_and_framework_are_listed() -> None:
    doc = json.loads(build_bom(MODEL, include_environment=False, serial=SERIAL, now=NOW))
    assert sorted(c["bom-ref"] for c in doc["components"]) == [
        "dataset:customers@v2",
        "dataset:events@v7",
        sklearn_ref(),
    ]


def test_a_model_with_nothing_recorded_still_gives_a_valid_bom() -> None:
    model = replace(MODEL, framework=None, datasets=(), scan_verdict=None)
    text = build_bom(model, serial=SERIAL, now=NOW)
    doc = json.loads(text)
    limitations = doc["metadata"]["component"]["modelCard"]["considerations"][
        "technicalLimitations"
    ]
    assert "Not scanned by Bastion's model scanner." in limitations
    assert any("lineage is unknown" in line for line in limitations)
    assert props(doc["metadata"]["component"])["bastion:scan_verdict"] == "unscanned"


def test_fixed_serial_and_time_give_identical_output(doc_text: str, doc: dict[str, Any]) -> None:
    assert build_bom(MODEL, serial=SERIAL, now=NOW) == doc_text
    assert doc["serialNumber"] == f"urn:uuid:{SERIAL}"
    assert doc["metadata"]["timestamp"] == "2026-03-02T10:30:00+00:00"
    # Without them, each BOM is a new document.
    first, second = (json.loads(build_bom(MODEL, include_environment=False)) for _ in range(2))
    assert first["serialNumber"] != second["serialNumber"]


def _tamper_hash_alg(doc: dict[str, Any]) -> None:
    doc["metadata"]["component"]["hashes"][0]["alg"] = "SHA-257"


def _tamper_component_type(doc: dict[str, Any]) -> None:
    doc["components"][0]["type"] = "neural-network"


def _tamper_digest(doc: dict[str, Any]) -> None:
    doc["components"][0]["hashes"][0]["content"] = "not-a-digest"


def _tamper_unknown_field(doc: dict[str, Any]) -> None:
    doc["metadata"]["component"]["trustMe"] = True


def _tamper_card_on_dataset(doc: dict[str, Any]) -> None:
    doc["components"][0]["modelCard"] = {"considerations": {"users": [1]}}


@pytest.mark.parametrize(
    "tamper",
    [
        _tamper_hash_alg,
        _tamper_component_type,
        _tamper_digest,
        _tamper_unknown_field,
        _tamper_card_on_dataset,
    ],
)
def test_a_tampered_bom_fails_validation(doc_text: str, tamper: Any) -> None:
    doc = json.loads(doc_text)
    tamper(doc)
    with pytest.raises(InvalidInput) as caught:
        validate_bom(json.dumps(doc))
    assert caught.value.code == "bom.invalid"
    assert "CycloneDX 1.6 schema" in caught.value.message
    assert caught.value.details["path"].startswith("$.")


def test_the_schema_error_names_the_offending_place(doc_text: str) -> None:
    doc = json.loads(doc_text)
    _tamper_hash_alg(doc)
    with pytest.raises(InvalidInput) as caught:
        validate_bom(json.dumps(doc))
    assert caught.value.details["path"] == "$.metadata.component.hashes[0].alg"
    assert "SHA-257" in caught.value.message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{not json", "not JSON"),
        ("[]", "not a CycloneDX BOM"),
        ('{"bomFormat": "SPDX"}', "not a CycloneDX BOM"),
        ('{"bomFormat": "CycloneDX", "specVersion": "1.5"}', "not 1.6"),
    ],
)
def test_validate_refuses_what_is_not_a_1_6_bom(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_bom(text)
    assert caught.value.code == "bom.invalid"
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    ("model", "fragment"),
    [
        (replace(MODEL, sha256="abc"), "64 hexadecimal digits"),
        (replace(MODEL, version=0), "versions start at 1"),
        (replace(MODEL, name=""), "no name"),
        (replace(MODEL, size=-1), "negative size"),
        (replace(MODEL, created_at=datetime(2026, 3, 1)), "time zone"),
        (replace(MODEL, datasets=(replace(CUSTOMERS, sha256="z" * 64),)), "dataset customers"),
        (
            replace(MODEL, datasets=(CUSTOMERS, replace(CUSTOMERS, classification="public"))),
            "listed twice",
        ),
    ],
)
def test_malformed_facts_are_refused(model: BomModel, fragment: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        build_bom(model, include_environment=False, serial=SERIAL, now=NOW)
    assert caught.value.code == "bom.invalid"
    assert fragment in caught.value.message


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        build_bom(MODEL, include_environment=False, now=datetime(2026, 3, 2))


def test_a_listed_duplicate_dataset_appears_once() -> None:
    model = replace(MODEL, datasets=(CUSTOMERS, CUSTOMERS))
    doc = json.loads(build_bom(model, include_environment=False, serial=SERIAL, now=NOW))
    assert [c["bom-ref"] for c in doc["components"] if c["type"] == "data"] == [
        "dataset:customers@v2"
    ]


def test_build_fails_closed_when_its_output_would_not_conform(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A model card entry of the wrong type: the document must never leave build_bom.
    monkeypatch.setattr(bom_module, "_considerations", lambda model: [42])
    with pytest.raises(InvalidInput) as caught:
        build_bom(MODEL, include_environment=False, serial=SERIAL, now=NOW)
    assert caught.value.code == "bom.invalid"
    assert "technicalLimitations" in caught.value.details["path"]
