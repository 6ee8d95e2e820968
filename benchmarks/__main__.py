"""`python -m benchmarks` (or `tox -e bench`): measure everything and write benchmarks/RESULTS.md and PNG plots.

Peers run in the same process, alternating (ours, micrograd, torch, ours, ...) for several rounds; medians
are quoted with min-max beside them. Objects created by importing the three libraries are moved out of the
garbage collector's sight (gc.freeze) before measuring, so that PyTorch's 150,000 import-time objects do not
slow every collection of the pure-Python engines; the collector itself stays on.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def engine_speed(peers: list[Any], rounds: int, quick: bool) -> dict[str, Any]:
    from benchmarks.timing import alternate
    from benchmarks.workloads import WORKLOADS

    names = list(WORKLOADS)
    if quick:
        names = [n for n in names if "1e5" not in n and "1e4" not in n]
    results = {}
    for name in names:
        print(f"  {name}", flush=True)
        slow = "1e5" in name
        # A 1e3-step chain takes a few milliseconds: one busy moment of a shared machine moves a median of 9.
        # (Last run's 544 ns/node backward at 1e3 against 301 at 1e4 was that: run alone or between the peers,
        # interleaved, 1e3 and 1e4 both take about 300 ns/node backward here.)
        short = "1e3" in name
        n = max(3, rounds // 3) if slow else 3 * rounds if short else rounds
        results.update(alternate({name: WORKLOADS[name]()}, peers, n))
    return {"workloads": names, "results": results}


def big_chain(rounds: int) -> list[float]:
    """Seconds for forward+backward of a 1e6-node chain (333,334 tanh steps) on our engine alone."""
    from autodiff import Value

    times = []
    for _ in range(rounds):
        gc.collect()
        t0 = time.perf_counter()
        w, b, y = Value(0.5), Value(0.1), Value(0.3)
        for _ in range(333_334):
            y = (y * w + b).tanh()
        y.backward()
        times.append(time.perf_counter() - t0)
        del y
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9, help="rounds per workload (default 9)")
    parser.add_argument("--quick", action="store_true", help="fewer sizes and rounds, for a smoke test")
    parser.add_argument("--out", default=str(HERE / "RESULTS.md"), help="report file (plots go beside it)")
    parser.add_argument(
        "--sections",
        default="speed,memory,throughput,fd,tightness",
        help="comma-separated: speed, memory, throughput, fd, tightness (default all)",
    )
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else args.rounds
    sections = set(args.sections.split(","))
    out = Path(args.out)
    from benchmarks.peers import available_peers

    peers = available_peers()
    gc.collect()
    gc.freeze()
    data: dict[str, Any] = {"peers": peers, "started": time.strftime("%Y-%m-%d %H:%M")}
    if "speed" in sections:
        print("engine speed", flush=True)
        data["speed"] = engine_speed(peers, rounds, args.quick)
        data["big_chain"] = big_chain(3 if not args.quick else 1)
    if "memory" in sections:
        from benchmarks.memory import deepest_chain, graph_memory

        print("memory", flush=True)
        data["memory"] = [graph_memory(p, 5_000 if args.quick else 20_000) for p in peers]
        sizes = (1_000, 10_000, 100_000) if args.quick else (1_000, 10_000, 100_000, 333_334)
        data["deepest"] = {p.name: deepest_chain(p, sizes) for p in peers}
    if "throughput" in sections:
        from benchmarks.throughput import MODES, campaign_rate, naive_sympy_rate, throughput

        print("verification throughput", flush=True)
        trees = 3 if args.quick else 8
        runs = 1 if args.quick else 3
        campaign_rate(20, 1)  # warm up: imports, SymEngine and the op rules
        data["campaign"] = []
        for points in (3, 1):
            # The same DAGs every time (one seed); the run with the median rate is reported.
            rates = sorted(
                (campaign_rate(60 if args.quick else 400, points) for _ in range(runs)), key=lambda c: c.dags_per_second
            )
            rates[len(rates) // 2].range = (rates[0].dags_per_second, rates[-1].dags_per_second)
            data["campaign"].append(rates[len(rates) // 2])
        data["throughput"] = []
        for mode in MODES:
            sizes = (10, 30) if mode == "sympy" else (10, 20, 50, 100)
            for size in sizes if trees > 3 else (10, 20):
                # The run with the median rate is reported (the same DAGs and points every time).
                results = sorted((throughput(size, trees, 20, mode) for _ in range(runs)), key=lambda t: t.rate)
                results[len(results) // 2].range = (results[0].rate, results[-1].rate)
                data["throughput"].append(results[len(results) // 2])
        data["naive"] = {size: naive_sympy_rate(size, 2 if args.quick else 5, 3) for size in (10, 30)}
    if "fd" in sections:
        from benchmarks.fd_accuracy import fd_accuracy

        print("finite-difference accuracy", flush=True)
        cases = [c for c in _smooth_dags(60 if args.quick else 300) if c.point]
        data["fd"] = fd_accuracy(cases)
        data["fd_cases"] = len(cases)
    if "tightness" in sections:
        from benchmarks.throughput import draw
        from benchmarks.tightness import tightness
        from oracles.strategies import checked_dags

        print("tightness of the allowed errors", flush=True)
        count = 60 if args.quick else 400
        data["tightness"] = tightness(draw(checked_dags(), count))
        data["tightness_cases"] = count
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(data), encoding="utf-8")
    plots(data, out.parent)
    print(f"wrote {out}")
    return 0


def _smooth_dags(count: int) -> list[Any]:
    from benchmarks.fd_accuracy import SMOOTH
    from benchmarks.throughput import draw
    from oracles.strategies import checked_dags

    return draw(checked_dags(ops=SMOOTH, max_ops=20), count)


# ---------------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------------


def _ns(x: float) -> str:
    return f"{x:,.0f}"


def render(data: dict[str, Any]) -> str:
    import torch

    lines = [
        "# Benchmarks",
        "",
        f"Measured {data['started']} by `tox -e bench` on {platform.machine()}, Python {sys.version.split()[0]}, "
        f"PyTorch {torch.__version__}. Every figure is a median over rounds run in the same process, the peers "
        "alternating; the range is min-max. The machine is shared and noisy: read the ratios, not the absolute times.",
        "",
    ]
    for p in data["peers"]:
        if p.note:
            lines.append(f"- {p.name}: {p.note}")
    lines.append("")
    if "speed" in data:
        lines += _speed_section(data)
    if "memory" in data:
        lines += _memory_section(data)
    if "throughput" in data:
        lines += _throughput_section(data)
    if "fd" in data:
        lines += _fd_section(data)
    if "tightness" in data:
        lines += _tightness_section(data)
    return "\n".join(lines) + "\n"


def _speed_section(data: dict[str, Any]) -> list[str]:
    speed = data["speed"]
    results = speed["results"]
    peers = [p.name for p in data["peers"]]
    lines = [
        "## Engine speed (garbage collector on)",
        "",
        "Nanoseconds per node of the graph, forward + backward (forward / backward), and how many times slower",
        "each peer is than ours on the same workload.",
        "",
        "| workload | " + " | ".join(peers) + " | micrograd / ours | torch / ours |",
        "| --- | " + " | ".join("---:" for _ in peers) + " | ---: | ---: |",
    ]
    for w in speed["workloads"]:
        cells = []
        for p in peers:
            m = results[w, p]
            if m.failed or not m.total:
                cells.append(f"fails: {m.failed or 'no data'}")
                continue
            lo, hi = m.spread()
            cells.append(
                f"{_ns(m.median())} ({_ns(m.median('forward'))} / {_ns(m.median('backward'))})<br>{_ns(lo)}-{_ns(hi)}"
            )
        ours = results[w, "ours"].median()
        ratios = []
        for p in ("micrograd", "torch"):
            m = results.get((w, p))
            ratios.append(f"{m.median() / ours:.1f}x" if m is not None and m.total else "-")
        lines.append(f"| {w} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    chain = data["big_chain"]
    lines += [
        "",
        "A 1,000,000-node chain (333,334 tanh steps), forward + backward, ours: "
        f"median {statistics.median(chain):.2f} s (min {min(chain):.2f}, max {max(chain):.2f}).",
        "",
    ]
    return lines


def _memory_section(data: dict[str, Any]) -> list[str]:
    lines = [
        "## Memory",
        "",
        "A tanh chain of 20,000 steps (60,000 nodes) under tracemalloc: bytes per node while the graph is alive",
        "(after forward, and after backward, which fills in the gradients), and what is left once the graph is",
        "dropped with the cycle collector off (a graph with reference cycles stays until a collection). A few",
        "KB left is not a graph: CPython keeps up to 100 freed float objects (24 bytes each) on a free list, which",
        "tracemalloc counts as allocated (a tracemalloc snapshot of ours shows only floats from the last steps).",
        "",
        "| peer | bytes/node after forward | after backward | left after drop (gc off) | cyclic objects found |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for m in data["memory"]:
        lines.append(
            f"| {m.peer} | {m.bytes_per_node_forward:.0f} | {m.bytes_per_node:.0f} | {m.left_after_drop:,} | "
            f"{m.cyclic_objects:,} |"
        )
    lines += ["", "Deepest tanh chain whose backward works (sizes tried: 1e3, 1e4, 1e5, 333,334 steps):", ""]
    for name, (steps, why) in data["deepest"].items():
        lines.append(f"- {name}: {steps:,} steps ({3 * steps:,} nodes){'; ' + why if why else ''}")
    lines.append("")
    return lines


def _throughput_section(data: dict[str, Any]) -> list[str]:
    from benchmarks.throughput import MODES

    stages = ["generation", *_PARTS]
    lines = [
        "## Verification throughput",
        "",
        "### The campaign as a user runs it",
        "",
        "`gradverify fuzz --seed 7` on one worker (in this process), generation by Hypothesis included: random DAGs",
        "of 1-40 drawn ops plus adapters (median about 19 op nodes, up to 60), each checked at up to P points by the",
        "engine, the error model and all three referees; the median of three runs of the same DAGs (min-max of",
        "DAGs/s). Time per stage as a share of the run; generation is everything outside the checks (Hypothesis,",
        "the domain check, bookkeeping). Informative: the share of gradient components whose exact value is",
        "nonzero and verified to within 1e-6 of its size (the rest: exact zeros, kept on purpose as a minority).",
        "",
        "| points per DAG | DAGs | DAGs/s | checks/s | informative | exact zeros | symbolic paths (SymEngine / "
        "SymPy / chain rule) | " + " | ".join(stages) + " |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | " + " | ".join("---:" for _ in stages) + " |",
    ]
    for c in data["campaign"]:
        shares = [f"{c.stage_seconds.get(p, 0.0) / c.seconds:.0%}" for p in stages]
        lines.append(
            f"| {c.points} | {c.examples} | {c.dags_per_second:.1f} ({c.range[0]:.1f}-{c.range[1]:.1f}) | "
            f"{c.checks_per_second:.1f} | {c.informative:.1%} | {c.zero:.1%} | {_paths(c.paths)} | "
            + " | ".join(shares)
            + " |"
        )
    lines += [
        "",
        "### Checks per second on fixed DAGs",
        "",
        "Three-way checks per second on one core (engine, error model, the exact referee, finite differences,",
        "PyTorch, and the comparison), on random DAGs of 10 to 100 drawn ops, 20 points per DAG, and where the",
        "time goes; the median of three runs (min-max). The exact referee's modes:",
        "",
        *(f"- {mode}: {what}" for mode, what in MODES.items()),
        "",
        "| symbolic mode | ops per DAG | DAGs x points | checks/s | paths (SymEngine / SymPy / chain) | "
        + " | ".join(_PARTS)
        + " |",
        "| --- | ---: | ---: | ---: | ---: | " + " | ".join("---:" for _ in _PARTS) + " |",
    ]
    for t in data["throughput"]:
        shares = [f"{t.per_part[p] / t.seconds:.0%}" for p in _PARTS]
        lines.append(
            f"| {t.mode} | {t.size} | {t.trees} x {t.points_per_tree} | "
            f"{t.rate:.0f} ({t.range[0]:.0f}-{t.range[1]:.0f}) | {_paths(t.paths)} | " + " | ".join(shares) + " |"
        )
    lines += [
        "",
        "Naive symbolic checking for comparison (SymPy builds and differentiates the expression again at every point",
        "and evaluates with evalf; symbolic part only): "
        + ", ".join(
            f"{size} ops: {rate:.1f} checks/s" + (f" ({stopped} DAG(s) stopped at 30 s)" if stopped else "")
            for size, (rate, stopped) in data["naive"].items()
        )
        + ".",
        "",
    ]
    return lines


def _paths(paths: dict[str, int]) -> str:
    """How often each symbolic path gave the result: SymEngine / SymPy / chain rule."""
    return " / ".join(str(paths.get(k, 0)) for k in ("symengine", "sympy", "chain"))


_PARTS = ["engine", "error model", "sympy", "fd", "torch", "compare"]


def _fd_section(data: dict[str, Any]) -> list[str]:
    lines = [
        "## Finite-difference accuracy",
        "",
        f"{data['fd_cases']} random smooth DAGs (no relu), every gradient component against SymPy's exact",
        "derivative at 50 digits; error = |FD - exact| / max(1, |exact|).",
        "",
        "| method | median error | worst error | share below 1e-8 |",
        "| --- | ---: | ---: | ---: |",
    ]
    for r in data["fd"]:
        lines.append(f"| {r.method} | {r.median:.1e} | {r.worst:.1e} | {r.share_below(1e-8):.0%} |")
    lines.append("")
    return lines


def _tightness_section(data: dict[str, Any]) -> list[str]:
    lines = [
        "## Tightness of the allowed errors",
        "",
        f"{data['tightness_cases']} random DAGs (the campaign's strategy) checked three ways on the correct engine;",
        "per gradient row, |engine - referee| / allowed. A sound bound keeps every ratio at most 1; the closer the",
        "largest ratios come to 1, the less slack a wrong gradient has to hide in (the error model's SAFETY factor",
        "2 puts the sharpest cases near 0.5). 'Dominant term' counts which part of the allowed error was largest.",
        "",
        "| referee | rows with an error | median | 90% | 99% | largest | exact agreement | not verified | "
        "dominant term |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for t in data["tightness"].values():
        dominant = ", ".join(f"{k} {v}" for k, v in sorted(t.dominant.items(), key=lambda kv: -kv[1]))
        lines.append(
            f"| {t.referee} | {len(t.ratios)} | {t.median:.2g} | {t.quantile(0.9):.2g} | {t.quantile(0.99):.2g} | "
            f"{max(t.ratios, default=0.0):.2g} | {t.exact} | {t.not_verified} | {dominant} |"
        )
    lines.append("")
    return lines


def plots(data: dict[str, Any], where: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if "speed" in data:
        speed = data["speed"]
        peers = [p.name for p in data["peers"]]
        fig, ax = plt.subplots(figsize=(9, 4.5))
        width = 0.8 / len(peers)
        for i, p in enumerate(peers):
            values = [
                speed["results"][w, p].median() if speed["results"][w, p].total else float("nan")
                for w in speed["workloads"]
            ]
            ax.bar([k + i * width for k in range(len(values))], values, width, label=p)
        ax.set_xticks([k + width * (len(peers) - 1) / 2 for k in range(len(speed["workloads"]))])
        ax.set_xticklabels(speed["workloads"], rotation=20, ha="right", fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel("ns per node, forward + backward (median)")
        ax.set_title("Engine speed, same run, alternating")
        ax.legend()
        fig.tight_layout()
        fig.savefig(where / "speed.png", dpi=120)
        plt.close(fig)
    if "throughput" in data:
        from benchmarks.throughput import MODES

        fig, axes = plt.subplots(1, len(MODES), figsize=(10, 4))
        for ax, mode in zip(axes, MODES, strict=True):
            runs = [t for t in data["throughput"] if t.mode == mode]
            bottom = [0.0] * len(runs)
            for part in _PARTS:
                ms = [1e3 * t.per_part[part] / max(t.checks, 1) for t in runs]
                ax.bar([str(t.size) for t in runs], ms, bottom=bottom, label=part)
                bottom = [b + m for b, m in zip(bottom, ms, strict=True)]
            ax.set_xlabel("ops per DAG")
            ax.set_ylabel("ms per three-way check")
            ax.set_title(f"symbolic referee: {mode}", fontsize=10)
        axes[0].legend(fontsize=8)
        fig.suptitle("Where verification time goes (20 points per DAG)")
        fig.tight_layout()
        fig.savefig(where / "throughput.png", dpi=120)
        plt.close(fig)
    if "fd" in data:
        fig, ax = plt.subplots(figsize=(7, 4))
        for r in data["fd"]:
            errors = sorted(max(e, 1e-18) for e in r.errors)
            ax.plot(errors, [(k + 1) / len(errors) for k in range(len(errors))], label=r.method)
        ax.set_xscale("log")
        ax.set_xlabel("|FD - exact| / max(1, |exact|)")
        ax.set_ylabel("share of gradient components")
        ax.set_title("Finite-difference accuracy against SymPy at 50 digits")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(where / "fd_accuracy.png", dpi=120)
        plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
