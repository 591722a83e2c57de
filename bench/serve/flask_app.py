"""The baseline: the original design's stack (Flask + gunicorn + onnxruntime from PyPI) serving
the same ONNX model with the same request and response shapes as examples/digits' /predict.

    MODEL_PATH=DIR gunicorn -w 2 -b 127.0.0.1:PORT flask_app:app
"""

import json
import os

import numpy as np
import onnxruntime as ort
from flask import Flask, jsonify, request

MODEL_DIR = os.environ["MODEL_PATH"]
MAX_BATCH = 256

options = ort.SessionOptions()
options.intra_op_num_threads = int(os.environ.get("ORT_INTRA_OP_THREADS", "1"))
options.inter_op_num_threads = 1
session = ort.InferenceSession(
    os.path.join(MODEL_DIR, "model.onnx"), options, providers=["CPUExecutionProvider"]
)
INPUT = session.get_inputs()[0].name
with open(os.path.join(MODEL_DIR, "labels.json"), encoding="utf-8") as f:
    LABELS = json.load(f)
session.run(None, {INPUT: np.zeros((1, 784), dtype=np.float32)})  # warm-up

app = Flask(__name__)


def error(status, code, message):
    return jsonify({"error": {"code": code, "message": message}}), status


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


@app.post("/predict")
def predict():
    if not request.is_json:
        return error(415, "unsupported_media_type", "send application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "invalid_json", "body is not a JSON object")
    if "input" in body:
        vectors = [body["input"]]
    elif "inputs" in body and isinstance(body["inputs"], list):
        vectors = body["inputs"]
    else:
        return error(400, "invalid_input", "expected input or inputs")
    if not vectors:
        return error(400, "empty_batch", "the batch is empty")
    if len(vectors) > MAX_BATCH:
        return error(413, "batch_too_large", "too many inputs")
    for v in vectors:
        if not isinstance(v, list) or len(v) != 784:
            return error(400, "bad_vector_length", "expected 784 values")
    try:
        x = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError):
        return error(400, "invalid_input", "values must be numbers")
    if not np.isfinite(x).all():
        return error(400, "not_finite", "values must be finite")
    (probs,) = session.run(None, {INPUT: x})
    predictions = []
    for p in probs:
        best = int(np.argmax(p))
        rounded = [round(float(v), 6) for v in p]
        predictions.append(
            {"label": LABELS[best], "confidence": rounded[best], "probabilities": rounded}
        )
    return {"predictions": predictions, "labels": LABELS}


