"""Checks that a model written by `micrograd train` loads into PyTorch as the
state_dict of the equivalent nn.Sequential, and computes the same outputs.

    python3 -m pip install torch safetensors
    cargo run --release -- --quiet          # writes out/model.safetensors
    python3 tools/check_safetensors.py out/model.safetensors 0.5,-0.25 1.0,0.5

Prints PyTorch's outputs for each point; compare with
`micrograd predict` or the model's own outputs.
"""

import json
import sys

import torch
from safetensors import safe_open
from safetensors.torch import load_file

ACT = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}


def main(path, points):
    with safe_open(path, "pt") as f:
        arch = json.loads(f.metadata()["model"])
    modules = []
    for layer in arch["layers"]:
        modules.append(torch.nn.Linear(layer["nin"], layer["nout"], bias=layer["bias"]))
        if layer["activation"] != "linear":
            modules.append(ACT[layer["activation"]]())
    model = torch.nn.Sequential(*modules).double()
    model.load_state_dict(load_file(path))  # strict: every name and shape must match
    for p in points:
        x = torch.tensor([float(v) for v in p.split(",")], dtype=torch.float64)
        print(p, model(x).tolist())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
