"""PyTorch's side of bench/step_profile.ts: one critic step (the bench's, torch_bench.py's
critic_step) under torch.profiler, each critic call and the parameter backward a section; per
section the CPU time of its forward and backward operators and the operators that dominate.

usage: python3 bench/peers/torch_profile.py [--critic resnet|mlp] [--method alp|gp] [--half 8] [--threads N]
"""
import os
import sys
import time

if "--threads" in sys.argv:
    # OpenBLAS's own thread pool, which torch.set_num_threads does not reach, reads this at load
    os.environ.setdefault("OPENBLAS_NUM_THREADS", sys.argv[sys.argv.index("--threads") + 1])
import torch  # noqa: E402  (after the environment OpenBLAS reads)
from torch.profiler import ProfilerActivity, profile, record_function

sys.path.insert(0, os.path.dirname(__file__))
import torch_bench as tb  # noqa: E402  (the peer's critic and steps)


def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


CRITIC, METHOD, HALF = arg("--critic", "resnet"), arg("--method", "alp"), int(arg("--half", "8"))
if "--threads" in sys.argv:
    torch.set_num_threads(int(arg("--threads", "1")))

IMAGES = CRITIC == "resnet"
TOY_DIM = 128  # experiments/toy_wgan.ts TOY_DEFAULTS.dim
CALLS = {"alp": ([] if IMAGES else ["D(real)", "D(fake)"]) + ["D(x), x = [real; fake]", "search: D(x + ξr) and ∇_r", "D(x̂)"],
         "gp": ["D(real)", "D(fake)", "D(x̃) and ∇_x̃ (recorded)"]}[METHOD]


class Sectioned(torch.nn.Module):
    """Wraps the critic: each call opens the next section (closed by the next call)."""

    def __init__(self, net):
        super().__init__()
        self.net, self.calls, self.ctx = net, 0, None

    def open(self, name):
        if self.ctx:
            self.ctx.__exit__(None, None, None)
        self.ctx = record_function(name)
        self.ctx.__enter__()

    def forward(self, x):
        self.open(f"{self.calls + 1}. {CALLS[self.calls]}  [{x.shape[0]}]")
        self.calls += 1
        return self.net(x)


torch.manual_seed(0)
net = tb.Critic(128) if IMAGES else tb.mlp_critic(TOY_DIM)
wrapped = Sectioned(net)
step = tb.critic_step(METHOD, HALF, wrapped, (3, 32, 32) if IMAGES else (2,), clip=IMAGES, shared=IMAGES)


def mark(name):
    wrapped.open(f"{len(CALLS) + 1}. parameter backward" if name == "backward" else f"{len(CALLS) + 2}. Adam")


def run():
    wrapped.calls = 0
    step()
    wrapped.ctx.__exit__(None, None, None)
    wrapped.ctx = None


tb.MARK = mark
for _ in range(2):
    run()
walls = []
for _ in range(3):
    t0 = time.perf_counter()
    run()
    walls.append((time.perf_counter() - t0) * 1000)
with profile(activities=[ProfilerActivity.CPU]) as prof:
    run()

is_section = lambda e: e.name[:1].isdigit() and ". " in e.name
table = {}
for e in prof.events():
    # operators directly under a section: their time includes their children's
    if is_section(e) or e.cpu_parent is None or not is_section(e.cpu_parent):
        continue
    bwd = e.name.startswith("autograd::engine")
    name = e.name.split(": ")[-1]
    d = table.setdefault(e.cpu_parent.name, {"f": 0.0, "b": 0.0, "n": 0, "ops": {}})
    ms = e.cpu_time_total / 1000
    d["b" if bwd else "f"] += ms
    d["n"] += 1
    o = d["ops"].setdefault(("bwd " if bwd else "") + name, [0, 0.0])
    o[0] += 1
    o[1] += ms

walls.sort()
total = sum(d["f"] + d["b"] for d in table.values())
print(f"## PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s): {METHOD.upper()} critic step, "
      f"{'residual critic DIM 128' if IMAGES else f'MLP 2-{TOY_DIM}x3-1'}, B {HALF}+{HALF}")
print(f"wall {walls[1]:.1f} ms (median of 3); operators {total:.1f} ms (profiled run)\n")
print("| section | fwd ms | bwd ms | operators | main operators (ms) |")
print("|---|---:|---:|---:|---|")
for sec in sorted(table):
    d = table[sec]
    top = sorted(d["ops"].items(), key=lambda kv: -kv[1][1])[:4]
    print(f"| {sec} | {d['f']:.1f} | {d['b']:.1f} | {d['n']} | " + ", ".join(f"{k} ×{n} {ms:.1f}" for k, (n, ms) in top) + " |")
