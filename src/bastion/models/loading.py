"""The one safe loader: every model that serves goes through here.

It resolves the version (production by default), decrypts it, checks its bytes against
the signed manifest, verifies the signature, scans it again, and only then builds a
runtime object. Only formats that carry no code are loaded: ONNX (an ONNX Runtime
session on the CPU provider, no custom-op libraries) and safetensors (NumPy arrays).
Pickle-based formats are never deserialized here, whatever their scan says: convert
them (scikit-learn with skl2onnx, PyTorch with torch.onnx or safetensors) first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bastion.context import Context
from bastion.db.engine import transaction
from bastion.db.models import ModelVersionRow
from bastion.errors import ModelRejected, NotFound
from bastion.models.registry import ModelVersion, open_verified, require_clean
from bastion.operation import operation
from bastion.vault.objects import validate_name
from bastion.workspace import Workspace

LOADABLE_FORMATS = ("onnx", "safetensors")


@dataclass(frozen=True)
class LoadedModel:
    """A verified model ready to run."""

    version: ModelVersion
    format: str
    # onnxruntime.InferenceSession for ONNX; dict[str, numpy.ndarray] for safetensors.
    runtime: Any
    signature_key_id: str


def _resolve(ws: Workspace, name: str, version: int | None, stage: str) -> int:
    with transaction(ws.sessions) as session:
        query = select(ModelVersionRow.version).where(ModelVersionRow.name == name)
        query = query.where(
            ModelVersionRow.version == version
            if version is not None
            else ModelVersionRow.stage == stage
        )
        found = session.scalar(query.order_by(ModelVersionRow.version.desc()).limit(1))
    if found is None:
        which = f"{name}@{version}" if version is not None else f"{name} in {stage}"
        raise NotFound(f"no registered model {which}", code="model.not_found")
    return int(found)


def _build(fmt: str, data: bytes) -> Any:
    if fmt == "onnx":
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # One thread per run, and no spinning: a server gets its parallelism from
        # concurrent requests, and idle threads spinning on a busy core only steal it.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        return onnxruntime.InferenceSession(
            data, sess_options=options, providers=["CPUExecutionProvider"]
        )
    from safetensors.numpy import load

    return load(data)


def load_model(
    ws: Workspace,
    ctx: Context,
    name: str,
    *,
    version: int | None = None,
    stage: str = "production",
) -> LoadedModel:
    """Load ``name`` (its ``stage`` version, or ``version``) after verifying it."""
    with operation(ws, ctx, "model.load", permission="model:read", resource=f"model/{name}") as op:
        validate_name(name)
        number = _resolve(ws, name, version, stage)
        op.resource = f"model/{name}@{number}"
        with open_verified(ws, name, number) as (verified, data):
            require_clean(verified)
            # The format the fresh scan saw, not the (unsigned) column in the database.
            fmt = verified.scan.format
            if fmt not in LOADABLE_FORMATS:
                raise ModelRejected(
                    f"{name}@{number} is a {fmt} file: pickle-based formats are never loaded",
                    code="model.unloadable_format",
                    hint="Convert it to ONNX (skl2onnx, torch.onnx) or safetensors first.",
                )
            try:
                runtime = _build(fmt, bytes(data))
            except Exception as exc:  # the runtime's own parse errors, translated once
                raise ModelRejected(
                    f"{name}@{number} could not be loaded by the {fmt} runtime: {exc}",
                    code="model.load_failed",
                ) from exc
        op.details.update(version=number, format=fmt, signature="verified")
        return LoadedModel(verified.version, fmt, runtime, verified.version.signature_key_id)
