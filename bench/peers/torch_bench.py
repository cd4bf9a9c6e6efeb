"""PyTorch CPU peer for bench/run.ts.

usage: python3 torch_bench.py --spec workloads.json [--quick] [--budget SECONDS]
       python3 torch_bench.py --serve

With --serve it runs whole critic steps on request, one JSON command per stdin line (see
bench/peers/torch_steps.ts), so that bench/run.ts can time PyTorch's steps in the same rounds
as ours: {"op": "prepare", "key": K, "workloads": [...]}, {"op": "round", "key": K} (replies
with one time per workload), {"op": "drop", "key": K}.

Runs the same workload list as our engine (NCHW, PyTorch layouts) and prints one marked JSON
line per row, the protocol of bench/harness.ts. Exits 3 with a message when torch is missing.
"""
import json
import math
import os
import sys
import time

ROW = "@@bench-row "
INFO = "@@bench-info "
REPLY = "@@bench-reply "

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:  # the caller prints the reason and skips this peer
    print(f"torch not importable: {e}", file=sys.stderr)
    sys.exit(3)


def arg(name, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


QUICK = "--quick" in sys.argv
BUDGET = float(arg("--budget", "420"))
IMPL = os.environ.get("BENCH_TORCH_IMPL", "pytorch-cpu")  # pytorch-cpu-2t: the 2-thread peer
# (warmup, minReps, maxReps, budget ms, slow ms, slow reps): as FAST_PEER_POLICY / QUICK_POLICY
POLICY = (1, 2, 2, 0, math.inf, 2) if QUICK else (2, 3, 15, 2000, 2000, 2)


def emit(mark, obj):
    sys.stdout.write(mark + json.dumps(obj) + "\n")
    sys.stdout.flush()


def repeat(fn):
    warm, min_reps, max_reps, budget, slow_ms, slow_reps = POLICY
    last, done = 0.0, 0
    for _ in range(warm):  # as repeat() in harness.ts: speed judged by the last warm-up
        last = timed(fn)
        done += 1
    slow = last > slow_ms
    target = slow_reps if slow else max_reps
    times, spent = [], 0.0
    while len(times) < target:
        t = timed(fn)
        times.append(t)
        spent += t
        if not slow and len(times) >= min_reps and spent >= budget:
            break
    return times, done


def timed(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def quantile(s, q):
    pos = (len(s) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def row(w, times, warm):
    s = sorted(times)
    ms = quantile(s, 0.5)
    r = {
        "workload": w["id"], "group": w["group"], "impl": IMPL,
        "ms": ms, "min": s[0], "max": s[-1],
        "iqr": quantile(s, 0.75) - quantile(s, 0.25) if len(s) >= 4 else s[-1] - s[0],
        "reps": len(s), "warmup": warm,
    }
    if w.get("flops"):
        r["gflops"] = w["flops"] / (ms * 1e6)
    if w.get("bytes"):
        r["gbps"] = w["bytes"] / (ms * 1e6)
    return r


def rnd(*shape, lo=-1.0, hi=1.0):
    return torch.empty(*shape).uniform_(lo, hi)


class Critic(torch.nn.Module):
    """The residual critic of alr/README.md (Setups) (same structure as bench/suites/critic.ts)."""

    def __init__(self, d):
        super().__init__()
        c = lambda i, o, k: torch.nn.Conv2d(i, o, k, padding=(k - 1) // 2)
        self.b1c1, self.b1c2, self.b1s = c(3, d, 3), c(d, d, 3), c(3, d, 1)
        self.b2c1, self.b2c2, self.b2s = c(d, d, 3), c(d, d, 3), c(d, d, 1)
        self.b3c1, self.b3c2, self.b4c1, self.b4c2 = c(d, d, 3), c(d, d, 3), c(d, d, 3), c(d, d, 3)
        self.lin = torch.nn.Linear(d, 1)

    def forward(self, x):
        pool = lambda t: F.avg_pool2d(t, 2)
        h = pool(self.b1c2(F.relu(self.b1c1(x)))) + self.b1s(pool(x))
        s = pool(self.b2s(h))
        h = pool(self.b2c2(F.relu(self.b2c1(F.relu(h))))) + s
        for c1, c2 in ((self.b3c1, self.b3c2), (self.b4c1, self.b4c2)):
            h = c2(F.relu(c1(F.relu(h)))) + h
        return self.lin(F.relu(h).mean(dim=(2, 3)))


def chain(x, ops):
    y = x
    for op in ops:
        y = {
            "mulS": lambda: y * 0.9, "addS": lambda: y + 0.1, "tanh": lambda: torch.tanh(y),
            "mulX": lambda: y * x, "addX": lambda: y + x, "sigmoid": lambda: torch.sigmoid(y),
            "subX": lambda: y - x, "relu": lambda: torch.relu(y), "abs": lambda: torch.abs(y),
            "square": lambda: torch.square(y),
        }[op]()
    return y


def prepare(w):
    k = w["kind"]
    if k == "matmul":
        a, b = rnd(w["M"], w["K"]), rnd(w["K"], w["N"])
        return lambda: torch.mm(a, b)
    if k == "conv":
        n, c, h, wd, o, ks, pad, st = (w[x] for x in ("N", "C", "H", "W", "O", "k", "pad", "stride"))
        ho, wo = (h + 2 * pad - ks) // st + 1, (wd + 2 * pad - ks) // st + 1
        x, f, gy = rnd(n, c, h, wd), rnd(o, c, ks, ks), rnd(n, o, ho, wo)
        if w["dir"] == "fwd":
            return lambda: F.conv2d(x, f, None, st, pad)
        if w["dir"] == "dx":
            return lambda: torch.nn.grad.conv2d_input(x.shape, f, gy, st, pad)
        return lambda: torch.nn.grad.conv2d_weight(x, f.shape, gy, st, pad)
    if k == "batchnorm":
        x = rnd(w["N"], w["C"], w["H"], w["W"]).requires_grad_()
        g, b = rnd(w["C"], lo=0.5, hi=1.5).requires_grad_(), rnd(w["C"]).requires_grad_()
        gy = rnd(w["N"], w["C"], w["H"], w["W"])

        def run():
            y = F.batch_norm(x, None, None, g, b, training=True, eps=1e-5)
            torch.autograd.grad(y, (x, g, b), gy)
        return run
    if k == "adam":
        ps = [rnd(w["size"]).requires_grad_() for _ in range(w["tensors"])]
        for p in ps:
            p.grad = rnd(w["size"])
        opt = torch.optim.Adam(ps, lr=1e-4)
        return opt.step
    if k == "chain":
        x = rnd(w["n"], lo=0.1, hi=1.0)
        return lambda: chain(x, w["ops"])
    if k == "mlp":
        sizes = [2] + [w["hidden"]] * w["depth"] + [1]
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
            if i + 2 < len(sizes):
                layers.append(torch.nn.ReLU())
        net = torch.nn.Sequential(*layers)
        opt = torch.optim.Adam(net.parameters(), lr=1e-4)
        x, y = rnd(w["batch"], 2), rnd(w["batch"], 1)

        def run():
            opt.zero_grad(set_to_none=True)
            F.mse_loss(net(x), y).backward()
            opt.step()
        return run
    if k == "critic":
        net = Critic(w["dim"])
        x = rnd(w["batch"], 3, 32, 32)
        if w["mode"] == "fwd":
            def fwd():
                with torch.no_grad():
                    net(x)
            return fwd
        params = list(net.parameters())
        return lambda: torch.autograd.grad(net(x).mean(), params)
    if k == "criticStep":
        images = w["critic"] == "resnet"
        net = Critic(w["dim"]) if images else mlp_critic(w["dim"])
        return critic_step(w["reg"], w["half"], net, (3, 32, 32) if images else (2,), clip=images, shared=images)
    raise NotImplementedError(f"no PyTorch version of workload kind {k}")


def per_sample_unit(t):
    return t / t.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *[1] * (t.dim() - 1))


def mlp_critic(dim):
    """The toy experiments' critic (nn/toy.ts toyCritic): 2 -> dim x3 -> 1, ReLU."""
    return torch.nn.Sequential(torch.nn.Linear(2, dim), torch.nn.ReLU(), torch.nn.Linear(dim, dim), torch.nn.ReLU(),
                               torch.nn.Linear(dim, dim), torch.nn.ReLU(), torch.nn.Linear(dim, 1))


def MARK(name):
    """Called before the parameter backward ('backward') and Adam ('adam'): torch_profile.py's sections."""


def critic_step(reg, half, net, sample, clip, shared):
    """The critic steps of bench/suites/ours.ts: WGAN-GP (λ = 10, double backprop) or WGAN-ALP
    (k = 1, ξ = 10, ε ~ U[0.1, 10], λ = 100, clip to [-1, 1] for images), D([real; fake]) shared
    with the WGAN term or run again on real and fake (`shared`), then Adam."""
    opt = torch.optim.Adam(net.parameters(), lr=1e-4, betas=(0.0, 0.9))
    real, fake = rnd(half, *sample), rnd(half, *sample)
    col = lambda v: v.view(-1, *[1] * len(sample))
    clamp = (lambda t: t.clamp(-1, 1)) if clip else (lambda t: t)

    def gp():
        a = col(torch.rand(half))
        x = (a * real + (1 - a) * fake).requires_grad_()
        d_real, d_fake = net(real), net(fake)
        (g,) = torch.autograd.grad(net(x).sum(), x, create_graph=True)
        penalty = ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()
        return d_fake.mean() - d_real.mean() + 10 * penalty

    def alp():
        x = torch.cat([real, fake])
        if not shared:
            d_real, d_fake = net(real).squeeze(1), net(fake).squeeze(1)
        y = net(x).squeeze(1)
        if shared:
            d_real, d_fake = y[:half], y[half:]
        r = per_sample_unit(torch.rand_like(x) - 0.5).requires_grad_()
        probe = clamp(x + 10 * r)
        (g,) = torch.autograd.grad((net(probe).squeeze(1) - y.detach()).abs().mean(), r)
        eps = col(torch.empty(x.shape[0]).uniform_(0.1, 10))
        x_hat = clamp(x + eps * per_sample_unit(g))
        ratio = (net(x_hat).squeeze(1) - y).abs() / (x_hat - x).flatten(1).norm(dim=1)
        penalty = ((ratio - 1).clamp_min(0) ** 2).mean()
        return d_fake.mean() - d_real.mean() + 100 * penalty

    loss_fn = gp if reg == "gp" else alp

    def run():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        MARK("backward")
        loss.backward()
        MARK("adam")
        opt.step()
    return run


def blas():
    """Debian's torch takes its matmul from libblas.so.3: the reference BLAS is ~100x slower."""
    path = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    if "openblas" in path or "blis" in path or "mkl" in path:
        return f"BLAS {path}, {os.environ.get('OPENBLAS_NUM_THREADS', 'its own count of')} BLAS threads"
    return f"BLAS {path} (reference BLAS: matmul is slow; apt-get install libopenblas0-pthread)"


def serve():
    fns = {}
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            if cmd["op"] == "prepare":
                fns[cmd["key"]] = [prepare(w) for w in cmd["workloads"]]
                emit(REPLY, {"ok": True})
            elif cmd["op"] == "round":
                emit(REPLY, {"ms": [timed(f) for f in fns[cmd["key"]]]})
            elif cmd["op"] == "drop":
                fns.pop(cmd["key"], None)
                emit(REPLY, {"ok": True})
            else:
                emit(REPLY, {"error": f"unknown op {cmd['op']!r}"})
        except Exception as e:  # the caller marks the rows skipped with this
            emit(REPLY, {"error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"})


def main():
    torch.manual_seed(0)
    # torch's default here is 1 thread; 2 threads on a busy 2-core machine spin and run slower
    if os.environ.get("BENCH_TORCH_THREADS"):
        torch.set_num_threads(int(os.environ["BENCH_TORCH_THREADS"]))
    emit(INFO, {"impl": IMPL, "version": torch.__version__, "threads": torch.get_num_threads(),
                "note": f"{sys.executable}, {blas()}"})
    if "--serve" in sys.argv:
        serve()
        return
    spec = json.load(open(arg("--spec")))
    start = time.perf_counter()
    ratios = {}  # as PeerBudget in harness.ts: peer ms / ours ms per kind of work
    for w in spec:
        base = {"workload": w["id"], "group": w["group"], "impl": IMPL}
        kind = f'{w["kind"]}:{w.get("dir", w.get("mode", ""))}'
        known = sorted(ratios.values())
        ratio = ratios.get(kind, known[len(known) // 2] if known else None)
        est = w["oursMs"] * ratio * (POLICY[0] + POLICY[5]) / 1000 if w.get("oursMs") and ratio else 0
        used = time.perf_counter() - start
        if not w.get("target") and (used >= BUDGET or est > BUDGET - used):
            emit(ROW, {**base, "skipped": f"skipped: peer time budget ({BUDGET:.0f} s; {used:.0f} s used); raise --peer-budget or use --filter"})
            continue
        try:
            fn = prepare(w)
            times, warm = repeat(fn)
            r = row(w, times, warm)
            if w.get("oursMs"):
                ratios[kind] = r["ms"] / w["oursMs"]
            emit(ROW, r)
        except NotImplementedError as e:
            emit(ROW, {**base, "skipped": str(e)})
        except Exception as e:  # report and go on with the next workload
            emit(ROW, {**base, "skipped": f"error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"})


if __name__ == "__main__":
    main()
