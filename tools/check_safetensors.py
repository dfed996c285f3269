"""Checks that a model written by `micrograd train` loads into PyTorch as the
state_dict of the equivalent nn.Sequential and computes the same predictions
from a table's raw rows.

    python3 -m pip install torch safetensors
    cargo run --release -- train --data my.csv --target y     # writes out/model.safetensors
    python3 tools/check_safetensors.py out/model.safetensors rows.csv

The network takes raw numbers: micrograd folded the standardisation into the
first layer's weights (and a regression target's scale into the last), so
the only preprocessing left is one-hot encoding text columns, described in
the file's metadata. Prints, for each row, the network's outputs and the
prediction; compare with `micrograd predict --model out/model.json`.
"""

import csv
import json
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file

ACT = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}


def model_of(path):
    with safe_open(path, "pt") as f:
        arch = json.loads(f.metadata()["model"])
    modules = []
    for layer in arch["layers"]:
        modules.append(torch.nn.Linear(layer["nin"], layer["nout"], bias=layer["bias"]))
        if layer["activation"] != "linear":
            modules.append(ACT[layer["activation"]]())
    model = torch.nn.Sequential(*modules).double()
    model.load_state_dict(load_file(path))  # strict: every name and shape must match
    return model, arch


def raw_inputs(row, arch):
    """A row's cells as the network's inputs: numbers as they are, text one-hot."""
    x = []
    for inp in arch["preprocessing"]["inputs"]:
        cell = row[inp["column"]].strip()
        if inp["kind"] == "numeric":
            x.append(float(cell))
        else:
            x.extend(1.0 if cell == c else 0.0 for c in inp["categories"])
    return torch.tensor(x, dtype=torch.float64)


def main(path, rows):
    model, arch = model_of(path)
    assert arch.get("folded_into_weights"), "written by an older micrograd: inputs not raw"
    target = arch["preprocessing"]["target"]
    with open(rows, newline="") as f:
        for row in csv.DictReader(f):
            out = model(raw_inputs(row, arch)).tolist()
            if target["kind"] == "number":
                pred = out[0]
            elif arch["loss"] == "xent":
                pred = target["classes"][max(range(len(out)), key=out.__getitem__)]
            else:
                pred = target["classes"][1 if out[0] > 0 else 0]
            print(json.dumps({"outputs": out, "prediction": pred}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
