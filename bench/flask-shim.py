# flask-shim.py — the approach users have today, for bench/translation.ts to measure against: a
# Flask app (run by gunicorn, 2 workers) that takes a Vertex {"instances": [...]} request, turns
# it into a KServe v2 request for a Triton-style server with numpy, and turns the answer back
# into {"predictions": [...]}. Environment: V2_URL (e.g. http://127.0.0.1:8000/v2/models/m/infer),
# INPUT_NAME, INPUT_SHAPE (per row, e.g. 3,224,224), BINARY (1 = binary tensor extension both ways).
# Run: V2_URL=... gunicorn -w 2 -b 127.0.0.1:PORT --chdir bench 'flask-shim:app'  (via bench/translation.ts)

import http.client
import json
import os
from urllib.parse import urlsplit

import numpy as np
from flask import Flask, Response, request

app = Flask(__name__)
V2_URL = urlsplit(os.environ["V2_URL"])
INPUT_NAME = os.environ.get("INPUT_NAME", "x")
BINARY = os.environ.get("BINARY", "0") == "1"
# One keep-alive connection per worker (gunicorn sync workers serve one request at a time);
# the standard library's client, as python3-requests is not installed for gunicorn's Python.
conn = None


def post(body, headers):
    global conn
    for attempt in (0, 1):
        try:
            if conn is None:
                conn = http.client.HTTPConnection(V2_URL.hostname, V2_URL.port, timeout=30)
            conn.request("POST", V2_URL.path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, r.getheader("Inference-Header-Content-Length"), r.read()
        except (http.client.HTTPException, OSError):
            conn = None
            if attempt == 1:
                raise


@app.get("/health")
def health():
    return "", 200


@app.post("/predict")
def predict():
    body = request.get_json(force=True)
    x = np.asarray(body["instances"], dtype=np.float32)
    if BINARY:
        data = x.tobytes()
        header = json.dumps({
            "inputs": [{"name": INPUT_NAME, "shape": list(x.shape), "datatype": "FP32",
                        "parameters": {"binary_data_size": len(data)}}],
            "parameters": {"binary_data_output": True},
        }).encode()
        status, hl, content = post(header + data, {
            "Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(len(header))})
    else:
        body = json.dumps({"inputs": [{"name": INPUT_NAME, "shape": list(x.shape), "datatype": "FP32",
                                       "data": x.flatten().tolist()}]}).encode()
        status, hl, content = post(body, {"Content-Type": "application/json"})
    if status != 200:
        return Response(content, status=502, mimetype="application/json")
    if hl is None:
        out = json.loads(content)["outputs"][0]
        y = np.asarray(out["data"], dtype=np.float32).reshape(out["shape"])
    else:
        n = int(hl)
        out = json.loads(content[:n])["outputs"][0]
        y = np.frombuffer(content[n:], dtype=np.float32).reshape(out["shape"])
    return Response(json.dumps({"predictions": y.tolist()}), mimetype="application/json")
