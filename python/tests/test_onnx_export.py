"""The ONNX export (`micrograd train --onnx`, `micrograd export --onnx`)
checked for real: ONNX's own checker with full checking, then ONNX Runtime's
predictions on the raw CSV columns against `micrograd predict` on the same
file, on tables with text columns, empty cells, unseen categories and both
tasks."""

import csv
import io
import os
import random
import subprocess
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = os.environ.get("MICROGRAD_BIN", str(ROOT / "target" / "debug" / "micrograd"))


def run(*args):
    p = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def shop_table(path, n, seed, regression):
    """A table like a user's: numbers, a text column, empty cells written as
    spreadsheets write them, and a target (a class, or a number)."""
    r = random.Random(seed)
    rows = []
    for _ in range(n):
        age = r.uniform(18, 80)
        income = r.gauss(50, 15)
        colour = r.choice(["red", "green", "blue"])
        size = r.choice(["S", "M", "L", "XL"])
        score = 0.04 * age + 0.03 * income + {"red": 1.0, "green": -0.5, "blue": 0.0}[colour]
        score += {"S": -1, "M": 0, "L": 0.5, "XL": 1}[size] + r.gauss(0, 0.3)
        cells = [f"{age:.2f}", f"{income:.3f}", colour, size]
        for k in range(4):
            if r.random() < 0.08:
                cells[k] = r.choice(["", "NA", "n/a", "?", "NaN", "null"])
        target = f"{score:.4f}" if regression else ("yes" if score > 4.1 else "no")
        rows.append(cells + [target])
    write_csv(path, ["age", "income", "colour", "size", "bought"], rows)


def onnx_inputs(session, path):
    """The CSV's columns as the graph's inputs: numbers as double (float
    for a float graph), an empty cell as NaN; text as strings."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    feeds = {}
    for i in session.get_inputs():
        cells = [r[i.name].strip() for r in rows]
        if i.type == "tensor(string)":
            feeds[i.name] = np.array(cells, dtype=object).reshape(-1, 1)
        else:
            dtype = np.float64 if i.type == "tensor(double)" else np.float32
            nums = [float(c) if c and c.lower() not in ("na", "n/a", "?", "nan", "null", "none") else np.nan for c in cells]
            feeds[i.name] = np.array(nums, dtype=dtype).reshape(-1, 1)
    return feeds


def compare(model_json, onnx_file, data, target, classes, tol):
    m = onnx.load(str(onnx_file))
    onnx.checker.check_model(m, full_check=True)
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(None, onnx_inputs(session, data))))
    proba = ["--proba"] if "probabilities" in names else []
    ours = list(csv.DictReader(io.StringIO(run("predict", "--model", model_json, "--data", data, *proba))))
    assert len(ours) == len(next(iter(got.values())))
    if classes:
        assert [r[f"predicted_{target}"] for r in ours] == list(got["label"])
        if "probabilities" in got:
            mine = np.array([[float(r[f"p_{c}"]) for c in classes] for r in ours])
            err = np.abs(mine - got["probabilities"]).max()
            assert err < tol, f"probabilities differ by {err}"
    else:
        mine = np.array([float(r[f"predicted_{target}"]) for r in ours])
        err = np.abs(mine - got["value"]).max() / max(1.0, np.abs(mine).max())
        assert err < tol, f"values differ by {err} (relative)"
    return m


def train(tmp_path, data, target, *flags):
    out = tmp_path / "out"
    onnx_file = tmp_path / "model.onnx"
    run("train", data, "--target", target, "--quiet", "--no-plots", "--out", out, "--onnx", onnx_file,
        "--cv", "0", *flags)
    return out / "model.json", onnx_file


def test_iris_three_classes(tmp_path):
    iris = ROOT / "data" / "iris.csv"
    model, f = train(tmp_path, iris, "species", "--epochs", "30")
    m = compare(model, f, iris, "species", ["setosa", "versicolor", "virginica"], 1e-9)
    inputs = [i.name for i in m.graph.input]
    assert inputs == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    meta = {p.key: p.value for p in m.metadata_props}
    assert meta["micrograd.classes"] == '["setosa","versicolor","virginica"]'


@pytest.mark.parametrize("loss", ["xent", "bce", "svm"])
def test_text_columns_and_empty_cells(tmp_path, loss):
    data = tmp_path / "shop.csv"
    shop_table(data, 300, 1, regression=False)
    model, f = train(tmp_path, data, "bought", "--epochs", "20", "--loss", loss)
    # new rows: every spelling of an empty cell, and categories never seen
    new = tmp_path / "new.csv"
    shop_table(new, 200, 2, regression=False)
    with open(new) as fh:
        text = fh.read().replace(",green,", ",purple,", 5).replace(",XL,", ",xxl,", 5)
    new.write_text(text)
    compare(model, f, new, "bought", ["no", "yes"], 1e-9)


def test_regression_in_the_targets_units(tmp_path):
    data = tmp_path / "shop.csv"
    shop_table(data, 300, 3, regression=True)
    model, f = train(tmp_path, data, "bought", "--epochs", "20")
    compare(model, f, data, "bought", [], 1e-9)
    m = onnx.load(str(f))
    assert [o.name for o in m.graph.output] == ["value"]
    assert {i.name: i.type.tensor_type.elem_type for i in m.graph.input}["colour"] == onnx.TensorProto.STRING


def test_readme_example_runs_as_printed(tmp_path, monkeypatch):
    """README's ONNX Runtime snippet, run on the model README's command makes."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Take a model anywhere: ONNX", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    shown = code.split("print(label)  # ", 1)[1].strip()
    run("train", ROOT / "data" / "iris.csv", "--target", "species", "--quiet", "--no-plots",
        "--out", tmp_path / "out", "--onnx", tmp_path / "model.onnx")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    exec(code, {})
    assert out.getvalue().strip() == shown


def test_export_command_in_float32(tmp_path):
    """`micrograd export --onnx --float32`: a float graph, to about 1e-5."""
    data = tmp_path / "shop.csv"
    shop_table(data, 300, 4, regression=False)
    model, _ = train(tmp_path, data, "bought", "--epochs", "20")
    f32 = tmp_path / "m32.onnx"
    run("export", "--model", model, "--onnx", f32, "--float32")
    m = compare(model, f32, data, "bought", ["no", "yes"], 1e-5)
    assert m.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
