"""A minimal Python web app that serves predictions from a model file.

The model is a JSON linear model, {"weights": [...], "bias": b}, at $MODEL_PATH/model.json.
ShipML puts it there (the Dockerfile never copies the model) and sets MODEL_PATH,
MODEL_NAME, MODEL_VERSION and MODEL_DIGEST.

    GET /predict?x=1,2,3   -> {"y": w·x + b}
    GET /version           -> which model this process serves
    GET /healthz           -> ok
"""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

MODEL_PATH = os.environ.get("MODEL_PATH", "/models/linear")
with open(os.path.join(MODEL_PATH, "model.json"), encoding="utf-8") as f:
    MODEL = json.load(f)


def predict(x):
    if len(x) != len(MODEL["weights"]):
        raise ValueError(f"expected {len(MODEL['weights'])} features, got {len(x)}")
    return sum(w * v for w, v in zip(MODEL["weights"], x)) + MODEL["bias"]


class Handler(BaseHTTPRequestHandler):
    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        url = urlparse(self.path)
        if url.path == "/healthz":
            return self._send(200, {"ok": True})
        if url.path == "/version":
            return self._send(200, {k.lower(): os.environ.get(k) for k in ("MODEL_NAME", "MODEL_VERSION", "MODEL_DIGEST")})
        if url.path == "/predict":
            try:
                x = [float(v) for v in parse_qs(url.query).get("x", [""])[0].split(",")]
                return self._send(200, {"y": predict(x)})
            except ValueError as err:
                return self._send(400, {"error": str(err)})
        return self._send(404, {"error": "not found"})

    def log_message(self, format, *args):  # quiet: one JSON line per request would go here
        pass


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8000"))
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()
