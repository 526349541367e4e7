# flask-image.py — the seeds' way of serving an image model, for bench/transform.ts to measure
# infergate's `transform` against: a Flask app (run by gunicorn) that takes Vertex
# {"instances": [{"b64": "<JPEG or PNG>"}]}, decodes each image with Pillow, preprocesses it with
# numpy as examples/image-classifier/config.yaml's image step does (RGB, stretched to 32x32 with
# bilinear resampling, scaled to 0..1, normalized with ImageNet's mean/std, NCHW), runs
# examples/image-classifier's model with Python onnxruntime (one intra-op thread per worker, as
# the gateway's backend) and answers the top class's name from labels.txt, as the example's
# labels step does: {"predictions": ["red"]}.
# Python onnxruntime is not a Debian package: bench/transform.ts installs it from PyPI into a
# venv (.tmp/bench-venv, with Debian's Flask, Pillow and numpy) at bench time.
# With MODEL_URL set (the fallback when onnxruntime cannot be installed) it sends the tensor to
# that KServe v2 endpoint (infergate's ONNX backend) instead of running the model itself.
# Environment: MODEL (model.onnx path), LABELS (labels.txt path), MODEL_URL (optional).

import base64
import http.client
import io
import json
import os
from urllib.parse import urlsplit

import numpy as np
from flask import Flask, Response, request
from PIL import Image

app = Flask(__name__)
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32).reshape(3, 1, 1)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32).reshape(3, 1, 1)
with open(os.environ["LABELS"]) as f:
    LABELS = [line.strip() for line in f if line.strip()]
MODEL_URL = urlsplit(os.environ["MODEL_URL"]) if os.environ.get("MODEL_URL") else None
session = None
if MODEL_URL is None:
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(os.environ["MODEL"], options, providers=["CPUExecutionProvider"])
conn = None


def error(status, message, code):
    return Response(json.dumps({"error": message, "code": code}), status=status, mimetype="application/json")


def tensor(data):
    image = Image.open(io.BytesIO(data)).convert("RGB").resize((32, 32), Image.BILINEAR)
    x = np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / 255.0
    return (x - MEAN) / STD


def run_remote(batch):
    global conn
    body = json.dumps({"inputs": [{"name": "image", "shape": list(batch.shape), "datatype": "FP32",
                                   "data": batch.flatten().tolist()}]})
    for attempt in (0, 1):
        try:
            if conn is None:
                conn = http.client.HTTPConnection(MODEL_URL.hostname, MODEL_URL.port, timeout=30)
            conn.request("POST", MODEL_URL.path, body=body, headers={"Content-Type": "application/json"})
            out = json.loads(conn.getresponse().read())["outputs"][0]
            return np.asarray(out["data"], dtype=np.float32).reshape(out["shape"])
        except (http.client.HTTPException, OSError):
            conn = None
            if attempt == 1:
                raise


@app.get("/health")
def health():
    return "", 200


@app.post("/predict")
def predict():
    doc = request.get_json(force=True, silent=True)
    if not isinstance(doc, dict) or not isinstance(doc.get("instances"), list) or not doc["instances"]:
        return error(400, 'send {"instances": [{"b64": "<image>"}]}', "bad_request")
    try:
        batch = np.stack([tensor(base64.b64decode(i["b64"])) for i in doc["instances"]])
    except Exception as e:  # Pillow's UnidentifiedImageError, a bad base64, a missing key
        return error(400, f"not an image: {e}", "bad_request")
    probabilities = session.run(None, {"image": batch})[0] if session is not None else run_remote(batch)
    # The gateway's labels step answers the top class's name: the same answer here.
    predictions = [LABELS[k] for k in probabilities.argmax(axis=1)]
    return Response(json.dumps({"predictions": predictions}), mimetype="application/json")
