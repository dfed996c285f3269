"""A micrograd model in PyTorch: predict with it, or train it further.

Written by `micrograd export --pytorch DIR`, beside spec.json (the columns,
their preprocessing, the layers and the loss) and model.safetensors (the
weights). Needs `pip install torch safetensors numpy`.

    python train.py --predict new.csv              # the predictions of `micrograd predict`
    python train.py --train more.csv --epochs 10   # goes on training; writes trained.safetensors
    torchrun --nproc_per_node 4 train.py --train more.csv   # the same, in 4 processes (DDP)

Training uses a GPU when there is one. Under torchrun each process takes its
share of each batch (DistributedSampler) and DistributedDataParallel averages
the gradients: --batch-size is the batch of one step over all processes, so
the run gives the single-process run's weights (up to rounding) when the
number of rows and --batch-size divide by the number of processes. Each
process reads the whole CSV file.
"""

import argparse
import csv
import io
import json
import math
import os
import sys

import torch
import torch.distributed as dist
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

HERE = os.path.dirname(os.path.abspath(__file__))
EMPTY = {"", "na", "n/a", "nan", "null", "none", "?"}  # cells micrograd reads as empty
torch.set_default_dtype(torch.float64)  # micrograd computes in float64


def fail(message):
    sys.exit(f"error: {message}")


def read_csv(path):
    """The header and the rows (line number, trimmed cells), as micrograd reads
    a CSV file: commas, or semicolons (with decimal commas) or tabs when the
    header line has no comma."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        fail(f"{path}: cannot read: {e}")
    first = text.split("\n", 1)[0]
    if "," in first or not (";" in first or "\t" in first):
        sep = ","
    else:
        sep = ";" if first.count(";") >= first.count("\t") else "\t"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header = [h.strip() for h in next(reader, [])]
    rows = []
    for cells in reader:
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue  # a blank line
        if len(cells) != len(header):
            fail(f"{path}:{reader.line_num}: {len(cells)} fields, but the header has {len(header)}")
        if sep == ";":  # 1,5 is 1.5
            cells = [c.replace(",", ".") if is_number(c.replace(",", ".")) else c for c in cells]
        rows.append((reader.line_num, cells))
    if not rows:
        fail(f"{path}: no rows after the header")
    return header, rows


def is_number(cell):
    try:
        float(cell)
        return True
    except ValueError:
        return False


def column_index(header, name, path):
    if name not in header:
        fail(f"{path}: no column '{name}'; the columns are: {', '.join(header)}")
    return header.index(name)


def encode(spec, header, rows, path):
    """The rows as the network's inputs: each number column standardised (an
    empty cell is the training mean, so 0), each text column one-hot over the
    training categories (an empty cell is the category "(empty)"; a category
    not seen in training is all zeros)."""
    fill = spec["empty_cells"] == "fill"
    width = sum(len(col.get("categories", [0])) for col in spec["columns"])  # a number: one input
    x = []
    where = [column_index(header, col["column"], path) for col in spec["columns"]]
    unseen = {}
    for line, cells in rows:
        row, i = [0.0] * width, 0
        for col, k in zip(spec["columns"], where):
            cell = cells[k]
            empty = cell.lower() in EMPTY
            if empty and not fill:
                fail(f"{path}:{line}, column '{col['column']}': empty value (the model refuses them)")
            if col["kind"] == "number":
                if not empty:
                    if not is_number(cell) or not math.isfinite(float(cell)):
                        fail(f"{path}:{line}, column '{col['column']}': '{cell}' is not a number")
                    row[i] = (float(cell) - col["mean"]) / col["std"]
                i += 1
            else:
                categories = col["categories"]
                category = spec["empty_category"] if empty else cell
                if category in categories:
                    row[i + categories.index(category)] = 1.0
                elif not empty:
                    unseen.setdefault(col["column"], set()).add(cell)
                i += len(categories)
        x.append(row)
    for column, values in unseen.items():
        print(f"warning: {path}: column '{column}' has categories not seen in training "
              f"({', '.join(sorted(values)[:3])}): their one-hot inputs are all 0", file=sys.stderr)
    return torch.tensor(x).reshape(len(rows), width)


def targets(spec, header, rows, path):
    """The rows whose target is not empty, and their targets in the network's
    units: class indices, or standardised numbers."""
    t = spec["target"]
    k = column_index(header, t["column"], path)
    kept = [(line, cells) for line, cells in rows if cells[k].lower() not in EMPTY]
    if len(kept) < len(rows):
        print(f"note: {path}: {len(rows) - len(kept)} rows with an empty target left out", file=sys.stderr)
    y = []
    for line, cells in kept:
        if t["kind"] == "classes":
            if cells[k] not in t["classes"]:
                fail(f"{path}:{line}: class '{cells[k]}' is not one the model knows")
            y.append(t["classes"].index(cells[k]))
        elif is_number(cells[k]):
            y.append((float(cells[k]) - t["mean"]) / t["std"])
        else:
            fail(f"{path}:{line}: target '{cells[k]}' is not a number")
    return kept, torch.tensor(y, dtype=torch.long if t["kind"] == "classes" else torch.float64)


def network(spec):
    """nn.Sequential(Linear, activation, ..., Linear), as micrograd's MLP."""
    act = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
    modules = []
    for layer in spec["layers"]:
        modules.append(nn.Linear(layer["inputs"], layer["outputs"], bias=layer["bias"]))
        if layer["activation"] != "linear":
            modules.append(act[layer["activation"]]())
    return nn.Sequential(*modules)


def scaling(spec):
    """Each input's mean and std (0 and 1 for one-hot inputs), and the target's."""
    mean, std = [], []
    for col in spec["columns"]:
        n = len(col.get("categories", [0]))
        mean += [col.get("mean", 0.0)] * n
        std += [col.get("std", 1.0)] * n
    t = spec["target"]
    return torch.tensor(mean), torch.tensor(std), t.get("mean", 0.0), t.get("std", 1.0)


def load(net, spec, path):
    """Loads model.safetensors, whose network takes raw numbers and gives the
    target in its units: micrograd folds the standardisation into the first
    layer (w' = w/std, b' = b - w'·mean) and a number target's into the last
    (w' = w·std, b' = b·std + mean). Undone here, in reverse order."""
    state = {}
    with safe_open(path, "pt") as f:
        meta = f.metadata()
        for k in f.keys():
            state[k] = f.get_tensor(k).double()
    mean, std, t_mean, t_std = scaling(spec)
    first, last = "0", str(len(net) - 1 - (spec["layers"][-1]["activation"] != "linear"))
    if spec["target"]["kind"] == "number":
        state[last + ".weight"] /= t_std
        if last + ".bias" in state:
            state[last + ".bias"] = (state[last + ".bias"] - t_mean) / t_std
    if first + ".bias" in state:
        state[first + ".bias"] += state[first + ".weight"] @ mean
    state[first + ".weight"] *= std
    net.load_state_dict(state)  # strict: every tensor, of the right shape
    return meta


def save(net, spec, meta, path):
    """Saves the weights as micrograd writes them (folded), so that `micrograd
    predict` reads the file too."""
    state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
    mean, std, t_mean, t_std = scaling(spec)
    first, last = "0", str(len(net) - 1 - (spec["layers"][-1]["activation"] != "linear"))
    state[first + ".weight"] /= std
    if first + ".bias" in state:
        state[first + ".bias"] -= state[first + ".weight"] @ mean
    if spec["target"]["kind"] == "number":
        state[last + ".weight"] *= t_std
        if last + ".bias" in state:
            state[last + ".bias"] = state[last + ".bias"] * t_std + t_mean
    save_file(state, path, metadata=meta)


def data_loss(spec, out, y):
    """micrograd's losses (src/nn/loss.rs), each the mean over the batch."""
    loss, two = spec["loss"], len(spec["target"].get("classes", [])) == 2
    if loss == "xent":
        return F.cross_entropy(out, y)
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(out[:, 0], y.double())
    signed = 2.0 * y.double() - 1.0  # svm, and mse on two classes: labels -1 and +1
    if loss == "svm":
        return F.relu(1.0 - signed * out[:, 0]).mean()
    return F.mse_loss(out[:, 0], signed if two else y)


def predict(spec, net, path):
    """Writes the rows with the prediction (and each class's probability) as
    `micrograd predict --proba` does, on stdout."""
    header, rows = read_csv(path)
    with torch.no_grad():
        out = net(encode(spec, header, rows, path))
    t, loss = spec["target"], spec["loss"]
    proba = None
    if loss == "xent":
        proba = torch.softmax(out, dim=1)
    elif loss == "bce":
        p = torch.sigmoid(out[:, 0])
        proba = torch.stack([1 - p, p], dim=1)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(header + [f"predicted_{t['column']}"] + [f"p_{c}" for c in t.get("classes", []) if proba is not None])
    for r, (_, cells) in enumerate(rows):
        if t["kind"] == "number":
            label = repr(out[r, 0].item() * t["std"] + t["mean"])
        elif loss == "xent":
            label = t["classes"][out[r].argmax().item()]
        else:
            label = t["classes"][int(out[r, 0].item() > 0)]
        writer.writerow(cells + [label] + ([repr(p) for p in proba[r].tolist()] if proba is not None else []))


def train(spec, net, args, meta):
    """Trains on a CSV file with Adam and micrograd's loss plus alpha·Σp², in
    one process or, under torchrun, in several (DDP)."""
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    gpu = torch.cuda.is_available()
    device = torch.device(f"cuda:{os.environ.get('LOCAL_RANK', 0)}" if gpu else "cpu")
    if gpu:
        torch.cuda.set_device(device)  # one GPU per process
    if world > 1:
        dist.init_process_group("nccl" if gpu else "gloo")
    if args.batch_size < 1 or args.batch_size % world:
        fail(f"--batch-size {args.batch_size} does not divide into {world} processes of 1 row or more")
    header, rows = read_csv(args.train)
    rows, y = targets(spec, header, rows, args.train)
    data = TensorDataset(encode(spec, header, rows, args.train), y)
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True, seed=args.seed)
    loader = DataLoader(data, batch_size=args.batch_size // world, sampler=sampler)
    net.to(device)
    model = DistributedDataParallel(net) if world > 1 else net
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    for epoch in range(1, args.epochs + 1):
        sampler.set_epoch(epoch)  # a new order each epoch, the same in every process
        total = torch.zeros(2, device=device)  # the loss summed over rows, and the rows
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = data_loss(spec, model(xb), yb)
            l2 = sum((p * p).sum() for p in net.parameters())
            opt.zero_grad()
            (loss + args.alpha * l2).backward()  # under DDP: the gradients averaged over processes
            opt.step()
            total += torch.stack([loss.detach() * len(yb), torch.tensor(float(len(yb)), device=device)])
        if world > 1:
            dist.all_reduce(total)
        if rank == 0:
            print(f"epoch {epoch}/{args.epochs}: data loss {(total[0] / total[1]).item():.6f}", flush=True)
    if rank == 0:
        save(net, spec, meta, args.save)
        print(f"wrote {args.save}")
    if world > 1:
        # every process waits here for the others, and lets go of DDP (which
        # holds the group) before the group goes: a process that tore it down
        # while another was still saving aborted now and then at exit
        dist.barrier()
        del model
        dist.destroy_process_group()
        # all is written: leave without the exit-time destructors, where a
        # torch thread still running can abort the process (SIGABRT)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--predict", metavar="CSV", help="print the predictions for these rows")
    what.add_argument("--train", metavar="CSV", help="train further on these rows")
    p.add_argument("--weights", default=os.path.join(HERE, "model.safetensors"), help="the weights to start from")
    p.add_argument("--save", default="trained.safetensors", help="where the trained weights go")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=32, help="rows per step, over all processes")
    p.add_argument("--lr", type=float, default=0.01, help="Adam's learning rate")
    p.add_argument("--alpha", type=float, default=0.01, help="L2: alpha·Σp² is added to the loss")
    p.add_argument("--seed", type=int, default=0, help="seeds the order of the rows")
    args = p.parse_args()
    with open(os.path.join(HERE, "spec.json"), encoding="utf-8") as f:
        spec = json.load(f)
    net = network(spec)
    try:
        meta = load(net, spec, args.weights)
    except (OSError, RuntimeError, KeyError) as e:  # no file, or not this model's weights
        fail(f"{args.weights}: cannot load the weights: {e}")
    if args.predict:
        predict(spec, net, args.predict)
    elif os.path.exists(args.save) and not os.path.isfile(args.save):
        # (safetensors writes a new file and renames it over the path: as root, over a device too)
        fail(f"--save {args.save}: this is not a regular file (a folder, a device?): not replacing it")
    else:
        train(spec, net, args, meta)


if __name__ == "__main__":
    main()
