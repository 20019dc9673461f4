"""The baseline for bench/gateway_bench.py: a bare FastAPI + uvicorn + ONNX Runtime app
serving the same model file, with nothing around it (no auth, limits, validation,
hardening, audit or metrics). Run by the benchmark as
``uvicorn gateway_bare_app:app --workers 1 --loop uvloop --http httptools``."""

from __future__ import annotations

import os

import numpy as np
import onnxruntime
from fastapi import FastAPI
from pydantic import BaseModel

_session = onnxruntime.InferenceSession(
    os.environ["BARE_MODEL_PATH"], providers=["CPUExecutionProvider"]
)
_input = _session.get_inputs()[0].name
_features = ("age", "tenure_months", "monthly_charges")
app = FastAPI()


class Body(BaseModel):
    input: dict[str, float]


@app.post("/v1/models/churn/predict")
async def predict(body: Body) -> dict[str, object]:
    x = np.array([[body.input[f] for f in _features]], dtype=np.float32)
    label, probabilities = _session.run(None, {_input: x})
    return {"outputs": [{"label": int(label[0]), "probabilities": probabilities[0].tolist()}]}
