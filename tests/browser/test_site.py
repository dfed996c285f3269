"""The static site (tools/build_site.sh) in headless Chromium: the page of
`micrograd serve` with this crate compiled to WebAssembly doing the work,
served by `python3 -m http.server` on loopback, with every other host
unreachable. Its numbers are checked against the native build's.

    python3 tests/browser/test_site.py [site] [path/to/micrograd]

It prints what it measures: the module's size, its time to start, a demo
training step, and when the page painted. Only the standard library, and
test_page.py's machinery.
"""

import fcntl
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import test_page as tp

# no name resolves but loopback's: a fetch from anywhere else fails
OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
EXPRESSIONS = [
    ("tanh(x1*w1 + x2*w2 + b)", {"x1": 2, "x2": 0, "w1": -3, "w2": 1, "b": 6.8813735870195432}),
    ("a*b + a", {"a": 2, "b": -3}),
    ("(a*a) + (a*a)", {"a": 1.5}),
]


class StaticHost:
    """`python3 -m http.server` on a free loopback port, serving a copy of
    the site with the probe page beside it; it logs every request."""

    def __init__(self, site):
        self.dir = tempfile.mkdtemp(prefix="mg-site-")
        shutil.copytree(site, self.dir, dirs_exist_ok=True)
        shutil.copy(os.path.join(os.path.dirname(__file__), "probe.html"), self.dir)
        self.log = open(os.path.join(self.dir, "..", os.path.basename(self.dir) + ".log"), "w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", self.dir],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        port = re.search(r"port (\d+)", self.proc.stdout.readline()).group(1)
        self.url = f"http://127.0.0.1:{port}/"

    def requests(self):
        self.log.flush()
        self.log.seek(0)
        return re.findall(r'"(\w+) (\S+) HTTP/[\d.]+" (\d+)', self.log.read())

    def close(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()
        os.unlink(self.log.name)
        shutil.rmtree(self.dir, ignore_errors=True)


def native_grads(binary, expr, values):
    """`micrograd grad --json`'s gradients."""
    args = [f"{k}={v!r}" for k, v in values.items()]
    out = subprocess.run([binary, "grad", "--json", expr, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["grads"]


def check_expressions(binary, host):
    """Stepping backward on the static page ends on the native engine's
    gradients: the served API's nodes, which are `micrograd grad`'s."""
    server = tp.Server(binary)
    try:
        for expr, values in EXPRESSIONS:
            nodes = server.api("/api/expr", {"expr": expr, "values": values})["nodes"]
            for name, g in native_grads(binary, expr, values).items():
                leaf = [n for n in nodes if n["label"] == name]
                assert leaf and leaf[0]["grad"] == g, (expr, name, leaf, g)
            tp.check_expression(server, expr, values, url=host.url, flags=OFFLINE)
    finally:
        server.close()


def check_first_page(host):
    """With no URL and no network, the page opens on the lecture's neuron."""
    page = tp.dom(host.url, flags=OFFLINE)
    datas = tp.fields(page, "data ")
    assert "data 0.7071" in datas and "data 6.8814" in datas, datas
    assert 'class="share" href="?expr=tanh' in page


def evaluate(url, expression, flags=(), timeout=120):
    """`expression`'s value (a promise's, awaited) in the page at `url`, in
    real time (timings mean something, as they do not under --dump-dom's
    virtual time): Chromium's DevTools protocol over --remote-debugging-pipe,
    messages of JSON ended by a NUL, it reading fd 3 and writing fd 4."""
    profile = tempfile.mkdtemp(prefix="mg-chromium-")
    their_in, to_browser = os.pipe()
    from_browser, their_out = os.pipe()

    def as_3_and_4():  # in the child, before the other descriptors are closed
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (their_in, their_out)]
        os.dup2(high[0], 3)
        os.dup2(high[1], 4)

    proc = subprocess.Popen(
        ["chromium", *tp.CHROMIUM_FLAGS, *flags, f"--user-data-dir={profile}", "--remote-debugging-pipe", url],
        pass_fds=(3, 4), preexec_fn=as_3_and_4, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(their_in)
    os.close(their_out)
    buf = b""

    def ask(n, method, params=None, session=None):
        nonlocal buf
        msg = {"id": n, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(to_browser, json.dumps(msg).encode() + b"\0")
        while True:
            while b"\0" not in buf:
                chunk = os.read(from_browser, 1 << 16)
                assert chunk, "Chromium closed its DevTools pipe"
                buf += chunk
            line, buf = buf.split(b"\0", 1)
            answer = json.loads(line)
            if answer.get("id") == n:
                return answer

    try:
        targets = ask(1, "Target.getTargets")["result"]["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        session = ask(2, "Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})
        params = {"expression": expression, "awaitPromise": True, "returnByValue": True}
        for n in range(3, 3 + 10 * timeout):
            # asked too early, the blank page that goes before `url` answers, or its end does
            answer = ask(n, "Runtime.evaluate", params, session["result"]["sessionId"])
            if "error" not in answer:
                break
            time.sleep(0.1)
        result = answer["result"]
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"]["value"]
    finally:
        proc.kill()
        proc.wait()
        os.close(to_browser)
        os.close(from_browser)
        shutil.rmtree(profile, ignore_errors=True)


def probe(host):
    """probe.html's findings (it sets window.probeResult when done)."""
    wait = """new Promise((ok) => { const t = () => window.probeResult ?
              ok(JSON.stringify(window.probeResult)) : setTimeout(t, 20); t(); })"""
    return json.loads(evaluate(host.url + "probe.html?steps=100", wait, flags=OFFLINE))


def check_training(binary, host, measured):
    """The demo's run in the module equals the native one, step by step,
    and the page draws its boundary."""
    got = probe(host)
    server = tp.Server(binary)  # a fresh one: its first session has the module's seed
    try:
        run = server.api("/api/train/new", {"data": "moons"})
        assert run["id"] == got["id"] == 1, (run["id"], got["id"])
        for _ in range(5):
            want = server.api("/api/train/step", {"id": run["id"], "steps": 20})
    finally:
        server.close()
    assert len(got["losses"]) == 100, len(got["losses"])
    diff = max(abs(a - b) / max(abs(b), 1e-300) for a, b in zip(got["losses"], want["losses"]))
    assert diff <= 1e-9, f"the module's loss trace is not the native one: relative difference {diff}"
    assert got["accuracies"] == want["accuracies"], "the accuracies differ"
    assert got["boundary"] == want["boundary"]["classes"], "the boundary's classes differ"
    measured["loss after 100 steps (module, native)"] = (got["losses"][-1], want["losses"][-1])
    measured["largest relative difference in the loss trace"] = diff
    # the page in a frame: trained 30 steps, and its canvas painted in the classes' tints
    colours = got["canvas"]["colours"]
    blank = colours.get("0,0,0,0", 0)
    assert blank < got["canvas"]["pixels"] / 10, f"the boundary is mostly blank: {blank} of {got['canvas']['pixels']}"
    tints = [k for k, n in colours.items() if n > 2000]
    assert len(tints) >= 2, f"the boundary shows fewer than two classes: {tints}"
    assert re.fullmatch(r"\d\.\d{4}", got["loss_text"]), got["loss_text"]
    for k in ["init_ms", "request_ms", "step_ms", "ready_ms"]:
        measured[k] = round(got[k], 3)
    # the budgets: a training step under 2 ms, first paint under a second
    assert got["step_ms"] < 2, f"a demo training step took {got['step_ms']} ms"
    paint = first_paint(host)
    measured["first page (ms after navigation)"] = paint
    assert paint.get("first-contentful-paint", 1e9) < 1000, paint


def first_paint(host):
    """When the first page painted, and when its neuron was ready, in ms
    after its navigation began (waiting at most 10 s for the paint)."""
    wait = """new Promise((ok) => {
      const t = () => {
        const p = performance.getEntriesByType("paint");
        if ((document.body && document.body.dataset.ready === "1" && p.length) || performance.now() > 10000) {
          const at = Object.fromEntries(p.map((e) => [e.name, Math.round(e.startTime)]));
          at.ready = Math.round(performance.now());
          ok(JSON.stringify(at));
        } else setTimeout(t, 10);
      };
      t();
    })"""
    return json.loads(evaluate(host.url, wait, flags=OFFLINE))


def check_requests(host, site):
    """Every request the browser made was for one of the site's own files."""
    files = set(os.listdir(site)) | {"probe.html", ""}
    for method, path, status in host.requests():
        name = path.split("?")[0].lstrip("/")
        if name == "favicon.ico":
            continue  # the browser's own guess; the site has none
        assert method == "GET" and name in files and status in ("200", "304"), (method, path, status)


def check_size(measured):
    assert measured["wasm bytes"] < 1 << 20, measured


def main(site, binary):
    wasm = os.path.join(site, "micrograd_bg.wasm")
    measured = {"wasm bytes": os.path.getsize(wasm),
                "wasm gzip -9 bytes": len(gzip.compress(open(wasm, "rb").read(), 9))}
    host = StaticHost(site)
    tests = [
        ("site: the wasm module is under 1 MB", lambda: check_size(measured)),
        ("site: first page offline, the lecture's neuron", lambda: check_first_page(host)),
        ("site: expressions' gradients are micrograd grad's", lambda: check_expressions(binary, host)),
        ("site: the demo's loss trace is the native one; the boundary drawn", lambda: check_training(binary, host, measured)),
        ("site: nothing fetched but the site's files", lambda: check_requests(host, site)),
    ]
    passed = failed = 0
    try:
        for name, test in tests:
            try:
                test()
                passed += 1
                print(f"ok   {name}")
            except AssertionError as e:
                failed += 1
                print(f"FAIL {name}: {e}")
    finally:
        host.close()
    for k, v in measured.items():
        print(f"  {k}: {v}")
    print(f"site: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(args[0] if args else "site", args[1] if len(args) > 1 else "target/debug/micrograd"))
