"""The model supply-chain part of ``bastion demo``: scan, register, sign, promote, tamper,
catch, roll back. Called by :mod:`bastion.demo` with its console and step counter."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from sqlalchemy import select

from bastion.context import Context
from bastion.db.models import ModelVersionRow
from bastion.models import attest, loading, registry
from bastion.models.scan import scan_paths
from bastion.workspace import Workspace

Expect = Callable[[Console, str, Callable[[], object]], None]
# A pickle that would run `touch /tmp/bastion_pwned_demo`, written opcode by opcode
# (protocol 4, STACK_GLOBAL through the memo). Nothing ever unpickles it.
MALICIOUS_PICKLE = (
    b"\x80\x04\x8c\x05posix\x94\x8c\x06system\x94\x93\x94"
    b"\x8c\x1dtouch /tmp/bastion_pwned_demo\x94\x85\x94R\x94."
)


FEATURES = ("age", "tenure_months", "monthly_charges")


def _training_data(csv_path: Path) -> tuple[Any, Any]:
    with csv_path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    x = np.array(
        [[float(r["age"]), float(r["tenure_months"]), float(r["monthly_charges"])] for r in rows],
        dtype=np.float32,
    )
    y = np.array([int(r["churned"]) for r in rows])
    return x, y


def train_onnx(csv_path: Path, out: Path, *, c: float) -> dict[str, str]:
    """Train a logistic-regression churn model on the demo CSV; write it as ONNX."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = _training_data(csv_path)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=500))
    model.fit(x, y)
    onx = convert_sklearn(
        model,
        initial_types=[("input", FloatTensorType([None, 3]))],
        options={id(model.steps[-1][1]): {"zipmap": False}},
        target_opset=17,
    )
    out.write_bytes(onx.SerializeToString())
    return {"algorithm": "LogisticRegression", "C": str(c), "features": "age,tenure,charges"}


def supply_chain_tour(
    console: Console,
    step: Callable[[str], None],
    ws: Workspace,
    alice: Context,
    bob: Context,
    root: Path,
    expect_denied: Expect,
) -> None:
    """Steps: a malicious pickle refused; register, sign, promote; tamper, catch, roll back."""
    step("Model scanning: a malicious pickle is caught statically and refused")
    evil = root / "churn-model.pkl"
    evil.write_bytes(MALICIOUS_PICKLE)
    (result,) = scan_paths([evil])
    worst = result.findings[0]
    console.print(
        f"  scan {evil.name}: {result.verdict} - {worst.detail} at byte {worst.offset} "
        f"({worst.severity}); nothing was unpickled",
        markup=False,
    )
    expect_denied(
        console,
        "registering the malicious pickle",
        lambda: registry.register(ws, alice, evil, "churn", trained_on="customers@1"),
    )

    step("Register a real model: scanned, signed (Ed25519), encrypted, with SLSA provenance")
    csv_path = root / "customers.csv"
    first, second = root / "churn-v1.onnx", root / "churn-v2.onnx"
    params = train_onnx(csv_path, first, c=1.0)
    v1 = registry.register(
        ws,
        alice,
        first,
        "churn",
        trained_on="customers@1",
        code_revision="a" * 40,
        parameters=params,
        training_data=csv_path,
        target="churned",
        features=list(FEATURES),
    )
    console.print(
        f"  churn@{v1.version}: {v1.format}, scan {v1.scan_verdict}, signed by "
        f"{v1.signature_key_id}, lineage {v1.lineage['dataset']}@{v1.lineage['version']}",
        markup=False,
    )
    promoted = registry.promote(ws, bob, "churn", v1.version, reason="first release")
    console.print(f"  bob promoted churn@{promoted.version} to {promoted.stage}")
    params = train_onnx(csv_path, second, c=0.01)
    v2 = registry.register(
        ws,
        alice,
        second,
        "churn",
        trained_on="customers@1",
        code_revision="b" * 40,
        parameters=params,
        training_data=csv_path,
        target="churned",
        features=list(FEATURES),
    )
    registry.promote(ws, bob, "churn", v2.version, reason="retrained")
    console.print(f"  churn@{v2.version} registered and promoted; churn@{v1.version} archived")
    expect_denied(
        console,
        "alice (data scientist) promoting a model",
        lambda: registry.promote(ws, alice, "churn", v1.version),
    )
    served = loading.load_model(ws, bob, "churn")
    sample = np.array([[35.0, 12.0, 80.0]], dtype=np.float32)
    label, proba = served.runtime.run(None, {"input": sample})
    console.print(
        f"  safe loader: churn@{served.version.version} signature verified, re-scanned, "
        f"ONNX Runtime predicts {int(label[0])} (p={float(proba[0][1]):.3f})"
    )

    step("Signed files on disk: one changed byte is caught and named")
    folder = root / "export"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(second.read_bytes())
    (folder / "README.md").write_text("churn model, see provenance\n", encoding="utf-8")
    signed = attest.sign(ws, bob, folder)
    console.print(f"  signed {signed.files} files -> {Path(signed.signature).name}")
    data = bytearray((folder / "model.onnx").read_bytes())
    data[-1] ^= 0x01
    (folder / "model.onnx").write_bytes(bytes(data))
    expect_denied(
        console,
        "verifying the export after one byte changed",
        lambda: attest.verify(folder, registry.trusted_keys(ws)),
    )

    step("Tamper with production in the registry; the safe loader refuses; roll back")
    with ws.sessions.begin() as session:
        row = session.scalars(
            select(ModelVersionRow).where(
                ModelVersionRow.name == "churn", ModelVersionRow.version == v2.version
            )
        ).one()
        bundle: dict[str, Any] = dict(row.signature)
        envelope: dict[str, Any] = dict(bundle["dsseEnvelope"])
        payload = envelope["payload"]
        envelope["payload"] = payload[:-8] + ("A" if payload[-8] != "A" else "B") + payload[-7:]
        bundle["dsseEnvelope"] = envelope
        row.signature = bundle
    console.print(f"  an insider edited churn@{v2.version}'s signed manifest in the database")
    expect_denied(
        console,
        "loading the tampered production model",
        lambda: loading.load_model(ws, bob, "churn"),
    )
    back = registry.rollback(ws, bob, "churn", reason="signature failure on v2")
    console.print(
        f"  one command: production is churn@{back.to_version} again "
        f"(v{back.from_version} archived)"
    )
    served = loading.load_model(ws, bob, "churn")
    label, proba = served.runtime.run(None, {"input": sample})
    console.print(
        f"  churn@{served.version.version} verifies and serves: predicts {int(label[0])} "
        f"(p={float(proba[0][1]):.3f})"
    )
    document = json.loads(registry.bom(ws, bob, "churn", version=served.version.version))
    kinds = [c["type"] for c in document["components"]]
    console.print(
        f"  CycloneDX {document['specVersion']} ML-BOM of churn@{served.version.version}: "
        f"{kinds.count('data')} dataset (with its SHA-256), {kinds.count('library')} packages; "
        "validated against the schema"
    )
    statement = registry.provenance(ws, bob, "churn", version=served.version.version)
    deps = statement["predicate"]["buildDefinition"]["resolvedDependencies"]
    console.print(
        f"  signed SLSA provenance: registered by "
        f"{statement['predicate']['buildDefinition']['internalParameters']['registeredBy']}, "
        f"from {deps[0]['uri']}",
        markup=False,
    )
