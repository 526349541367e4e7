"""app.py - a small real model server behind infergate: Flask + gunicorn serving an iris
classifier (scikit-learn LogisticRegression) trained at start from the dataset scikit-learn
ships, so it needs no files and no network.

POST /predict  {"instances": [[5.1, 3.5, 1.4, 0.2], ...], "parameters": {...}}
               -> {"predictions": [0, ...]} (class index per row, in order)
               with "parameters": {"probabilities": true}
               -> {"predictions": [{"label": 0, "name": "setosa", "probabilities": [...]}, ...]}
GET  /health   -> 200 {"status": "ok"} once the model is trained
Bad input      -> 400 {"error": "<what was wrong and where>"}
"""

import math
import os

from flask import Flask, jsonify, request
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

FEATURES = 4
MAX_ROWS = int(os.environ.get("IRIS_MAX_ROWS", "10000"))


def train():
    """train fits the classifier on the whole iris set; deterministic for a given sklearn."""
    data = load_iris()
    model = LogisticRegression(max_iter=1000)
    model.fit(data.data, data.target)
    return model, [str(n) for n in data.target_names]


MODEL, CLASS_NAMES = train()
app = Flask(__name__)


class BadInput(Exception):
    """BadInput carries a message for a 400 answer."""


def read_instances(body):
    """read_instances checks the body and returns the rows as lists of 4 floats."""
    if not isinstance(body, dict):
        raise BadInput("body must be a JSON object with an \"instances\" array")
    instances = body.get("instances")
    if instances is None:
        raise BadInput("body has no \"instances\" field")
    if not isinstance(instances, list):
        raise BadInput("\"instances\" must be an array of rows")
    if len(instances) == 0:
        raise BadInput("\"instances\" is empty")
    if len(instances) > MAX_ROWS:
        raise BadInput(f"\"instances\" has {len(instances)} rows; the limit is {MAX_ROWS}")
    rows = []
    for i, row in enumerate(instances):
        # A row may be a plain list or a {"features": [...]} object (Vertex style).
        if isinstance(row, dict) and "features" in row:
            row = row["features"]
        if not isinstance(row, list) or len(row) != FEATURES:
            raise BadInput(f"instances[{i}] must be an array of {FEATURES} numbers "
                           "(sepal length, sepal width, petal length, petal width)")
        values = []
        for j, v in enumerate(row):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise BadInput(f"instances[{i}][{j}] must be a finite number, got {v!r}")
            values.append(float(v))
        rows.append(values)
    return rows


@app.post("/predict")
def predict():
    body = request.get_json(force=True, silent=True)
    if body is None:
        return jsonify(error="body is not valid JSON; send {\"instances\": [[5.1, 3.5, 1.4, 0.2], ...]}"), 400
    try:
        rows = read_instances(body)
    except BadInput as err:
        return jsonify(error=str(err)), 400
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, dict):
        return jsonify(error="\"parameters\" must be an object"), 400
    if parameters.get("probabilities"):
        probs = MODEL.predict_proba(rows)
        predictions = []
        for p in probs:
            label = int(p.argmax())
            predictions.append({"label": label, "name": CLASS_NAMES[label],
                                "probabilities": [round(float(x), 6) for x in p]})
    else:
        predictions = [int(c) for c in MODEL.predict(rows)]
    return jsonify(predictions=predictions)


@app.get("/health")
def health():
    return jsonify(status="ok", model="iris", classes=CLASS_NAMES)


@app.errorhandler(404)
def not_found(_err):
    return jsonify(error=f"no route {request.method} {request.path}; try POST /predict"), 404


@app.errorhandler(405)
def not_allowed(_err):
    return jsonify(error=f"method {request.method} not allowed on {request.path}"), 405
