"""Registry fixtures: a workspace on each database with a data scientist and an engineer,
tiny real model files, and helpers that read (and, for tamper tests, edit) stored rows.

Model files are built in a few milliseconds: ONNX graphs with ``onnx.helper``, safetensors
with ``safetensors.numpy``. Dangerous pickles are assembled opcode by opcode and never
unpickled; nothing in these tests loads a pickle.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from argon2 import PasswordHasher
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import save as save_safetensors
from sqlalchemy import select

from bastion.context import Context
from bastion.db.models import ModelStageEventRow, ModelVersionRow
from bastion.demo_supply_chain import MALICIOUS_PICKLE
from bastion.identity import credentials
from bastion.vault.objects import Kind, add
from bastion.workspace import Workspace
from tests.conftest import Env, make_env
from tests.vault.helpers import events

__all__ = [
    "MALICIOUS_PICKLE",
    "Team",
    "affine",
    "audit_details",
    "benign_pickle",
    "model_row",
    "onnx_bytes",
    "stage_events",
    "stages",
    "suspicious_pickle",
    "write_onnx",
]


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 at minimum cost: passwords are not under test here (see tests/vault)."""
    monkeypatch.setattr(
        credentials, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


@dataclass
class Team:
    """A workspace and the people of the supply chain: who registers, who deploys."""

    env: Env
    scientist: Context  # data_scientist: model:register/read/list, no model:deploy
    engineer: Context  # engineer: model:deploy
    analyst: Context  # analyst: neither register nor read nor deploy
    root: Path

    @property
    def ws(self) -> Workspace:
        return self.env.ws

    def file(self, name: str, data: bytes) -> Path:
        """Write ``data`` under this test's source folder."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def dataset(self, name: str = "customers", data: bytes = b"age,churned\n35,0\n61,1\n") -> str:
        """Store a training dataset in the vault; returns its digest."""
        info = add(self.ws, self.env.admin, Kind.DATASET, self.file(f"{name}.csv", data), name)
        return info.sha256


def _team(tmp_path: Path, db_url: str | None) -> Iterator[Team]:
    env = make_env(tmp_path, db_url)
    try:
        yield Team(
            env,
            env.user("sam", "data_scientist"),
            env.user("eve", "engineer"),
            env.user("ann", "analyst"),
            tmp_path / "src",
        )
    finally:
        env.ws.close()


@pytest.fixture
def team(tmp_path: Path, db_url: str | None) -> Iterator[Team]:
    """A fresh workspace with its team, on SQLite and (when a server is given) PostgreSQL."""
    yield from _team(tmp_path, db_url)


@pytest.fixture
def sqlite_team(tmp_path: Path) -> Iterator[Team]:
    """The same on SQLite only, for checks that are about files, not the database."""
    yield from _team(tmp_path, None)


# -- model files --------------------------------------------------------------------------


def affine(seed: int, n_in: int = 3, n_out: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic weights and bias of a small linear layer."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n_in, n_out)).astype(np.float32)
    b = rng.standard_normal(n_out).astype(np.float32)
    return w, b


def onnx_bytes(w: np.ndarray, b: np.ndarray, *, op: str = "MatMul") -> bytes:
    """A real ONNX model computing ``x @ w + b`` (input ``x``: float32 [N, n_in])."""
    graph = helper.make_graph(
        [helper.make_node(op, ["x", "W"], ["xw"]), helper.make_node("Add", ["xw", "B"], ["y"])],
        "affine",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, w.shape[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, w.shape[1]])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    if op == "MatMul":
        onnx.checker.check_model(model)
    data: bytes = model.SerializeToString()
    return data


def write_onnx(path: Path, seed: int) -> tuple[Path, np.ndarray, np.ndarray]:
    """Write an affine ONNX model (distinct bytes per seed); returns it with its weights."""
    w, b = affine(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(onnx_bytes(w, b))
    return path, w, b


def safetensors_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A safetensors file holding ``arrays``."""
    data: bytes = save_safetensors(arrays)
    return data


def _short(text: str) -> bytes:
    raw = text.encode()
    assert len(raw) < 256
    return b"\x8c" + bytes([len(raw)]) + raw + b"\x94"  # SHORT_BINUNICODE, MEMOIZE


def suspicious_pickle(module: str = "mypkg.helpers", name: str = "Thing") -> bytes:
    """A protocol-4 pickle calling ``module.name()``: a global on no list, so suspicious.

    Assembled opcode by opcode (PROTO, two strings, STACK_GLOBAL, EMPTY_TUPLE, REDUCE,
    STOP); nothing ever unpickles it.
    """
    return b"\x80\x04" + _short(module) + _short(name) + b"\x93\x94)R\x94."


def benign_pickle() -> bytes:
    """A protocol-4 pickle of the list [1, 2]: no global at all, so it scans clean."""
    return b"\x80\x04]\x94(K\x01K\x02e."


# -- rows and audit ---------------------------------------------------------------------


def model_row(env: Env, name: str, version: int) -> ModelVersionRow:
    """The registry row of one version, detached."""
    with env.ws.sessions() as session:
        row = session.scalars(
            select(ModelVersionRow).where(
                ModelVersionRow.name == name, ModelVersionRow.version == version
            )
        ).one()
        session.expunge(row)
        return row


def model_rows(env: Env) -> list[ModelVersionRow]:
    """Every registry row."""
    with env.ws.sessions() as session:
        rows = list(session.scalars(select(ModelVersionRow)))
        session.expunge_all()
        return rows


def stages(env: Env, name: str) -> dict[int, str]:
    """Version -> stage."""
    with env.ws.sessions() as session:
        rows = session.execute(
            select(ModelVersionRow.version, ModelVersionRow.stage).where(
                ModelVersionRow.name == name
            )
        ).all()
    return {int(v): str(s) for v, s in rows}


def stage_events(env: Env, name: str) -> list[tuple[int, str | None, str, str, str]]:
    """(version, from, to, by, reason) of every stage change, oldest first."""
    with env.ws.sessions() as session:
        rows = session.scalars(
            select(ModelStageEventRow)
            .where(ModelStageEventRow.name == name)
            .order_by(ModelStageEventRow.id)
        ).all()
        return [(r.version, r.from_stage, r.to_stage, r.by, r.reason) for r in rows]


def audit_details(env: Env, action: str) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(actor, outcome, resource, details) of each audit event for ``action``, oldest first."""
    return [(e.actor, e.outcome, e.resource, json.loads(e.details)) for e in events(env, action)]
