"""CycloneDX 1.6 ML-BOM for a registered model: what it is, what it learnt from, what it needs.

The BOM's subject (``metadata.component``) is the model file, identified by its SHA-256.
Each training dataset is a ``data`` component with its own digest and classification, and,
unless left out, every Python distribution installed beside Bastion is a ``library``
component with a ``pkg:pypi`` purl. The dependency graph says the model depends on its
datasets and on its framework's packages. A model card lists the datasets and the
security considerations Bastion knows of (format, scan verdict, signature).

``cyclonedx-python-lib`` builds the document; it has no model-card or dataset-detail types
yet, so those two parts are added to its JSON afterwards. Either way, :func:`build_bom`
validates the finished document against the CycloneDX 1.6 JSON schema and refuses to return
one that does not conform.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from typing import Any
from uuid import UUID

from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.tool import ToolRepository
from cyclonedx.output.json import JsonV1Dot6
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL

from bastion.errors import InvalidInput

__all__ = [
    "FRAMEWORK_PACKAGES",
    "SPEC_VERSION",
    "BomDataset",
    "BomModel",
    "build_bom",
    "normalize_name",
    "validate_bom",
]

SPEC_VERSION = "1.6"

# Framework names as the registry records them -> the PyPI distributions that run the model.
# The first package of each entry is the one that must be there; the others join the
# graph only when installed. A framework missing from this table is taken as a PyPI name.
FRAMEWORK_PACKAGES: dict[str, tuple[str, ...]] = {
    "scikit-learn": ("scikit-learn",),
    "sklearn": ("scikit-learn",),
    "pytorch": ("torch",),
    "torch": ("torch",),
    "onnx": ("onnx", "onnxruntime"),
    "onnxruntime": ("onnxruntime",),
    "tensorflow": ("tensorflow",),
    "keras": ("keras",),
    "xgboost": ("xgboost",),
    "lightgbm": ("lightgbm",),
    "safetensors": ("safetensors",),
    "transformers": ("transformers",),
}

# Formats whose loaders can run code embedded in the file.
_CODE_ON_LOAD_FORMATS = frozenset({"pickle", "torch_zip", "joblib", "keras", "numpy_pickle"})

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_NOT_NORMALIZED = re.compile(r"[-_.]+")


@dataclass(frozen=True)
class BomDataset:
    """A dataset version the model was trained or evaluated on."""

    name: str
    version: int
    sha256: str
    classification: str


@dataclass(frozen=True)
class BomModel:
    """The facts about one registered model version that go into its BOM."""

    name: str
    version: int
    sha256: str
    size: int
    format: str  # "onnx", "pickle", "safetensors", "torch_zip", ...
    framework: str | None  # "scikit-learn", "pytorch", "onnx", ...
    stage: str
    owner: str
    created_at: datetime
    signature_key_id: str | None
    scan_verdict: str | None
    datasets: tuple[BomDataset, ...]


def build_bom(
    model: BomModel,
    *,
    include_environment: bool = True,
    serial: UUID | None = None,
    now: datetime | None = None,
) -> str:
    """The CycloneDX 1.6 JSON ML-BOM of ``model``, validated against the schema.

    With ``serial`` and ``now`` fixed, the output depends only on the model and the
    installed distributions. Raises ``InvalidInput`` (``bom.invalid``) for malformed facts
    or, failing closed, if the document would not conform to the schema.
    """
    _check_model(model)
    timestamp = now if now is not None else datetime.now(UTC)
    if timestamp.tzinfo is None:
        raise InvalidInput("the BOM timestamp must carry a time zone", code="bom.invalid")

    model_component = _model_component(model)
    datasets = _dataset_components(model.datasets)
    libraries = _installed_libraries() if include_environment else {}
    framework = _framework_components(model.framework, libraries)
    for component in framework:
        libraries.setdefault(component.name, component)

    bom = Bom(
        serial_number=serial,
        metadata=BomMetaData(
            component=model_component,
            timestamp=timestamp,
            tools=ToolRepository(components=[_bastion_tool()]),
        ),
        components=[*datasets.values(), *libraries.values()],
    )
    bom.register_dependency(
        model_component, [*datasets.values(), *(libraries[c.name] for c in framework)]
    )
    with warnings.catch_warnings():
        # A model with no recorded dataset and no known framework has an empty graph on
        # purpose; the library warns about that case, which is not an error here.
        warnings.filterwarnings(
            "ignore", message="The Component this BOM is describing", category=UserWarning
        )
        document: dict[str, Any] = json.loads(JsonV1Dot6(bom).output_as_string())

    _add_model_card(document, model, list(datasets))
    _add_dataset_details(document, {_dataset_ref(d): d for d in model.datasets})
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    validate_bom(text)
    return text


def validate_bom(text: str) -> None:
    """Check that ``text`` is a CycloneDX 1.6 JSON BOM; raise ``InvalidInput`` (``bom.invalid``)."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"the BOM is not JSON: {exc}", code="bom.invalid") from exc
    if not isinstance(document, dict) or document.get("bomFormat") != "CycloneDX":
        raise InvalidInput("the document is not a CycloneDX BOM", code="bom.invalid")
    if document.get("specVersion") != SPEC_VERSION:
        raise InvalidInput(
            f"the BOM is CycloneDX {document.get('specVersion')!r}, not {SPEC_VERSION}",
            code="bom.invalid",
        )
    error = _validator().validate_str(text)
    if error is None:
        return
    raw = error.data
    where = str(getattr(raw, "json_path", "$"))
    what = str(getattr(raw, "message", raw))
    if len(what) > 300:
        what = what[:300] + "..."
    raise InvalidInput(
        f"the BOM does not conform to the CycloneDX {SPEC_VERSION} schema at {where}: {what}",
        code="bom.invalid",
        details={"path": where, "schema_error": what},
    )


@cache
def _validator() -> JsonStrictValidator:
    # Building the validator parses the schema files: do it once per process.
    return JsonStrictValidator(SchemaVersion.V1_6)


def _check_model(model: BomModel) -> None:
    if not model.name:
        raise InvalidInput("the model has no name", code="bom.invalid")
    for what, version, digest in (
        (f"model {model.name}", model.version, model.sha256),
        *((f"dataset {d.name}", d.version, d.sha256) for d in model.datasets),
    ):
        if version < 1:
            raise InvalidInput(f"{what}: versions start at 1, got {version}", code="bom.invalid")
        if not _SHA256.match(digest):
            raise InvalidInput(f"{what}: sha256 must be 64 hexadecimal digits", code="bom.invalid")
    if model.size < 0:
        raise InvalidInput(f"model {model.name}: negative size", code="bom.invalid")
    if model.created_at.tzinfo is None:
        raise InvalidInput(
            f"model {model.name}: created_at must carry a time zone", code="bom.invalid"
        )


def _sha256(digest: str) -> HashType:
    return HashType(alg=HashAlgorithm.SHA_256, content=digest.lower())


def _model_component(model: BomModel) -> Component:
    facts = {
        "bastion:format": model.format,
        "bastion:framework": model.framework,
        "bastion:stage": model.stage,
        "bastion:owner": model.owner,
        "bastion:created_at": model.created_at.astimezone(UTC).isoformat(),
        "bastion:size_bytes": str(model.size),
        "bastion:scan_verdict": model.scan_verdict or "unscanned",
        "bastion:signature_key_id": model.signature_key_id or "unsigned",
    }
    return Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        name=model.name,
        version=f"v{model.version}",
        bom_ref=f"model:{model.name}@v{model.version}",
        hashes=[_sha256(model.sha256)],
        purl=PackageURL(
            type="generic",
            namespace="bastion-model",
            name=model.name,
            version=f"v{model.version}",
            qualifiers={"checksum": f"sha256:{model.sha256.lower()}"},
        ),
        properties=[Property(name=k, value=v) for k, v in facts.items() if v is not None],
    )


def _dataset_ref(dataset: BomDataset) -> str:
    return f"dataset:{dataset.name}@v{dataset.version}"


def _dataset_components(datasets: Iterable[BomDataset]) -> dict[str, Component]:
    seen: dict[str, BomDataset] = {}
    for dataset in datasets:
        ref = _dataset_ref(dataset)
        earlier = seen.setdefault(ref, dataset)
        if earlier != dataset:
            raise InvalidInput(
                f"dataset {dataset.name}@v{dataset.version} is listed twice with different facts",
                code="bom.invalid",
            )
    return {
        ref: Component(
            type=ComponentType.DATA,
            name=d.name,
            version=f"v{d.version}",
            bom_ref=ref,
            hashes=[_sha256(d.sha256)],
            purl=PackageURL(
                type="generic",
                namespace="bastion-dataset",
                name=d.name,
                version=f"v{d.version}",
                qualifiers={"checksum": f"sha256:{d.sha256.lower()}"},
            ),
            properties=[Property(name="bastion:classification", value=d.classification)],
        )
        for ref, d in seen.items()
    }


def normalize_name(name: str) -> str:
    """A distribution name in PEP 503 normal form (``Foo_Bar`` -> ``foo-bar``)."""
    return _NOT_NORMALIZED.sub("-", name).lower()


def _library(name: str, version: str | None) -> Component:
    purl = PackageURL(type="pypi", name=name, version=version)
    return Component(
        type=ComponentType.LIBRARY,
        name=name,
        version=version,
        purl=purl,
        bom_ref=purl.to_string(),
    )


def _installed_libraries() -> dict[str, Component]:
    """Every distribution importable here, by normalized name; the first on sys.path wins."""
    found: dict[str, Component] = {}
    for dist in metadata.distributions():
        raw_name = dist.metadata["Name"]
        version = dist.version
        if not raw_name or not version:
            continue  # a broken install leaves metadata without a name: nothing to cite
        name = normalize_name(raw_name)
        if name not in found:
            found[name] = _library(name, version)
    return dict(sorted(found.items()))


def _framework_components(
    framework: str | None, libraries: dict[str, Component]
) -> list[Component]:
    """The framework's packages: installed versions where present, else the bare name."""
    if not framework:
        return []
    wanted = FRAMEWORK_PACKAGES.get(framework.lower(), (normalize_name(framework),))
    chosen: list[Component] = []
    for position, package in enumerate(wanted):
        if package in libraries:
            chosen.append(libraries[package])
            continue
        version = _installed_version(package)
        if version is not None:
            chosen.append(_library(package, version))
        elif position == 0:
            # Not installed here: name it anyway so the graph says what the model needs.
            chosen.append(_library(package, None))
    return chosen


def _installed_version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _bastion_tool() -> Component:
    version = _installed_version("bastion") or "0+unknown"
    return Component(
        type=ComponentType.APPLICATION,
        name="bastion",
        version=version,
        bom_ref=f"tool:bastion@{version}",
    )


def _considerations(model: BomModel) -> list[str]:
    notes: list[str] = []
    if model.format in _CODE_ON_LOAD_FORMATS:
        notes.append(
            f"Stored as {model.format}, a format whose loader can run code embedded in the "
            "file: load it only through Bastion's safe loader, after a clean scan."
        )
    if model.scan_verdict is None:
        notes.append("Not scanned by Bastion's model scanner.")
    elif model.scan_verdict != "clean":
        notes.append(f"Bastion's model scanner returned the verdict '{model.scan_verdict}'.")
    if model.signature_key_id is None:
        notes.append("Not signed: its integrity cannot be checked against a signing key.")
    if not model.datasets:
        notes.append("No training dataset is recorded: its data lineage is unknown.")
    return notes


def _add_model_card(document: dict[str, Any], model: BomModel, dataset_refs: list[str]) -> None:
    card: dict[str, Any] = {"bom-ref": f"model-card:{model.name}@v{model.version}"}
    if dataset_refs:
        card["modelParameters"] = {"datasets": [{"ref": ref} for ref in dataset_refs]}
    notes = _considerations(model)
    if notes:
        card["considerations"] = {"technicalLimitations": notes}
    document["metadata"]["component"]["modelCard"] = card


def _add_dataset_details(document: dict[str, Any], datasets: dict[str, BomDataset]) -> None:
    for component in document.get("components", []):
        dataset = datasets.get(component.get("bom-ref", ""))
        if dataset is not None:
            component["data"] = [
                {
                    "type": "dataset",
                    "name": dataset.name,
                    "classification": dataset.classification,
                }
            ]
