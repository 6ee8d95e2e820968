"""The classic demos meet their targets, `--check` catches what it should, the datasets are what they claim,
and computation graphs draw (or explain why they cannot)."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from autodiff import Value, datasets
from autodiff.draw import GraphvizUnavailable, dot_source, render, to_text
from autodiff.nn import MLP
from autodiff.optim import SGD, AdamW
from gradverify.bugs import broken_engine
from gradverify.cli import main
from gradverify.demos import CheckFailed, StepReferee, check_steps, run_demo

QUIET = {"say": lambda text: None}

# ---- the demos meet their targets (fixed seeds: a correct engine meets them every time) ------------------


@pytest.mark.parametrize("name", ["linreg", "toy"])
def test_small_demos_meet_their_targets_and_pass_check(name: str, tmp_path: Path) -> None:
    result = run_demo(name, out=tmp_path, check=True, **QUIET)
    assert result.passed, result
    assert len(result.checked_steps) == 3


def test_linreg_recovers_the_line(tmp_path: Path) -> None:
    result = run_demo("linreg", out=tmp_path, **QUIET)
    assert abs(result.metrics["w"] - 4.0) <= 0.05
    assert abs(result.metrics["b"] - 3.0) <= 0.05


def test_toy_loss_below_target(tmp_path: Path) -> None:
    assert run_demo("toy", out=tmp_path, **QUIET).metrics["loss"] < 0.01


@pytest.mark.slow
def test_moons_separates_the_training_set(tmp_path: Path) -> None:
    result = run_demo("moons", out=tmp_path, **QUIET)
    assert result.metrics["train accuracy"] == 1.0
    assert result.pictures == [tmp_path / "moons.png"]
    assert (tmp_path / "moons.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_yinyang_generalises(tmp_path: Path) -> None:
    result = run_demo("yinyang", out=tmp_path, **QUIET)
    assert result.metrics["test accuracy"] > 0.9
    assert (tmp_path / "yinyang.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_check_referees_moons_and_yinyang_briefly(tmp_path: Path) -> None:
    # A few steps each: the hinge loss through relu layers, and cross-entropy with AdamW's state.
    assert run_demo("moons", steps=2, check=True, check_count=1, out=tmp_path, **QUIET).checked_steps == [0]
    assert run_demo("yinyang", steps=4, check=True, check_count=2, out=tmp_path, **QUIET).checked_steps == [0, 3]


def test_check_steps_spread_over_the_run() -> None:
    assert check_steps(100, 3) == {0, 50, 99}
    assert check_steps(1, 3) == {0}
    assert check_steps(0, 3) == set()


def test_bad_demo_arguments() -> None:
    with pytest.raises(ValueError, match="unknown demo"):
        run_demo("mnist")
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        run_demo("toy", steps=0)


# ---- --check can fail --------------------------------------------------------------------------------------


def test_check_stops_on_a_wrong_gradient_with_the_verdict() -> None:
    Broken = broken_engine("tanh-one-minus-t").make
    w, b = Broken(0.3), Broken(-0.2)
    loss = (w * 1.5 + b).tanh() * 2.0
    loss.backward()
    with pytest.raises(CheckFailed) as caught:
        StepReferee({0}).gradients(0, loss, [w, b])
    assert caught.value.verdict is not None
    assert not caught.value.verdict.ok
    assert caught.value.verdict.blame is not None
    assert caught.value.verdict.blame.op == "tanh"


def test_check_catches_gradients_that_are_not_the_losss() -> None:
    model = MLP(2, [3, 1], activation="tanh", rng=random.Random(0))
    out = model([0.5, -1.0])
    assert isinstance(out, Value)
    loss = out * out
    loss.backward()
    loss.backward()  # no zero_grad in between: every grad is doubled
    with pytest.raises(CheckFailed, match="disagree with its PyTorch twin"):
        StepReferee({0}).gradients(0, loss, model.parameters())


class _SignFlippedSGD(SGD):
    def step(self) -> None:
        for p in self.params:
            p.data = p.data + self.lr * p.grad


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: _SignFlippedSGD(ps, lr=0.1),
        lambda ps: AdamW(ps, lr=0.1, betas=(0.5, 0.999)),  # correct: must pass
    ],
    ids=["wrong-sgd", "adamw"],
)
def test_optimizer_step_against_torch(make: object) -> None:
    params = [Value(0.5), Value(-1.5)]
    optimizer = make(params)  # type: ignore[operator]
    referee = StepReferee({0, 1, 2})
    for step in range(3):
        optimizer.zero_grad()
        loss = (params[0] * params[1]).tanh() + params[0] * params[0]
        loss.backward()
        if isinstance(optimizer, _SignFlippedSGD):
            with pytest.raises(CheckFailed, match="moved parameter 0"):
                referee.optimizer_step(step, optimizer)
            return
        referee.optimizer_step(step, optimizer)  # AdamW's state (t, m, v) carries over into the twin


# ---- the command line ----------------------------------------------------------------------------------------


def test_cli_demo(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["demo", "toy", "--check", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "target met" in out
    assert "checked against PyTorch at steps 0, 50, 99" in out


def test_cli_demo_bad_steps(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "toy", "--steps", "0"]) == 2
    assert "--steps must be at least 1" in capsys.readouterr().err


def test_cli_grad_graph_highlights_the_blamed_node(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("graphviz")
    if not _has_dot():
        pytest.skip("Graphviz's dot is not installed (CI installs it)")
    target = tmp_path / "blamed.svg"
    code = main(["grad", "tanh(x) * y", "--at", "x=0.5,y=2", "--plant", "tanh-one-minus-t", "--graph", str(target)])
    assert code == 1
    assert "the blamed node (tanh(x)) in red" in capsys.readouterr().out
    svg = target.read_text()
    assert svg.count('stroke="red"') >= 2  # the tanh op and its value
    assert ">x</text>" in svg
    assert ">y</text>" in svg


def test_cli_grad_graph_without_dot_prints_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("graphviz")
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot here
    target = tmp_path / "g.svg"
    code = main(["grad", "tanh(x) * y", "--at", "x=0.5,y=2", "--plant", "tanh-one-minus-t", "--graph", str(target)])
    out, err = capsys.readouterr()
    assert code == 1
    assert not target.exists()
    assert "dot" in err
    assert "apt-get install graphviz" in err
    assert "tanh" in out
    assert "<-- highlighted" in out


def test_cli_grad_graph_bad_suffix(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grad", "x*x", "--at", "x=1", "--graph", "out.jpg"]) == 2
    assert "must end in one of .svg, .png, .pdf" in capsys.readouterr().err


def test_cli_grad_graph_unwritable(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("graphviz")
    if not _has_dot():
        pytest.skip("Graphviz's dot is not installed (CI installs it)")
    (tmp_path / "file").write_text("")
    assert main(["grad", "x*x", "--at", "x=1", "--graph", str(tmp_path / "file" / "g.svg")]) == 2
    assert "--graph: cannot write" in capsys.readouterr().err


def test_render_makes_missing_folders(tmp_path: Path) -> None:
    pytest.importorskip("graphviz")
    if not _has_dot():
        pytest.skip("Graphviz's dot is not installed (CI installs it)")
    target = render(Value(2.0, label="a") * 3.0, tmp_path / "new" / "g.svg")
    assert "<svg" in target.read_text()


def _has_dot() -> bool:
    import shutil

    return shutil.which("dot") is not None


# ---- drawing --------------------------------------------------------------------------------------------------


def test_to_text_shows_shared_nodes_once() -> None:
    x = Value(0.5, label="x")
    t = x * x
    y = t + t
    y.backward()
    text = to_text(y, highlight=[t])
    assert text.splitlines() == [
        "+ data=0.5 grad=1",
        "  * #1 data=0.25 grad=2  <-- highlighted",
        "    x #2 data=0.5 grad=2",
        "    x #2 (shown above)",
        "  * #1 (shown above)",
    ]


def test_to_text_survives_a_deep_chain() -> None:
    y = Value(0.1)
    for _ in range(5000):
        y = y * 1.0
    assert len(to_text(y).splitlines()) == 5001 + 5000  # each mul: the node, and its constant 1.0


def test_dot_source_has_a_record_per_value_and_a_node_per_op() -> None:
    pytest.importorskip("graphviz")
    a, b = Value(2.0, label="a"), Value(-3.0, label="b|<c>")
    c = a * b + a
    source = dot_source(c).source
    assert source.count("shape=record") == 4  # a, b, a*b, c
    assert source.count("shape=ellipse") == 2  # * and +
    assert "b\\|\\<c\\>" in source  # record metacharacters in labels are escaped


def test_render_rejects_an_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must end in one of"):
        render(Value(1.0), tmp_path / "g.gif")


def test_render_without_dot_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("graphviz")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GraphvizUnavailable, match="apt-get install graphviz"):
        render(Value(1.0) * 2.0, tmp_path / "g.png")


# ---- datasets -------------------------------------------------------------------------------------------------


def test_datasets_are_deterministic_and_seeded() -> None:
    assert datasets.moons(50, seed=3) == datasets.moons(50, seed=3)
    assert datasets.moons(50, seed=3) != datasets.moons(50, seed=4)
    assert datasets.yinyang(100, seed=1) == datasets.yinyang(100, seed=1)
    assert datasets.linear(10, seed=2) == datasets.linear(10, seed=2)


def test_yinyang_splits_and_classes() -> None:
    data = datasets.yinyang(1000, seed=0)
    assert (len(data.train.ys), len(data.val.ys), len(data.test.ys)) == (800, 100, 100)
    counts = [data.train.ys.count(k) for k in range(3)]
    assert all(200 <= c <= 340 for c in counts), counts  # balanced: each class a third, up to sampling noise
    for (x, y), label in zip(data.train.xs, data.train.ys, strict=True):
        # Back in the original coordinates, each point lies in the disc and in its class's region.
        u, v = (x + 1) / 2, (y + 1) / 2
        assert math.hypot(u - 0.5, v - 0.5) <= 0.5
        assert datasets.yinyang_class(u, v) == label


def test_yinyang_regions() -> None:
    # The two dots, a point of the upper half (yin, away from the dots) and of the lower half (yang).
    assert datasets.yinyang_class(0.75, 0.5) == 2
    assert datasets.yinyang_class(0.25, 0.5) == 2
    assert datasets.yinyang_class(0.5, 0.95) == 0
    assert datasets.yinyang_class(0.5, 0.05) == 1


def test_moons_geometry() -> None:
    data = datasets.moons(200, noise=0.0, seed=0)
    for (x, y), label in zip(data.xs, data.ys, strict=True):
        if label == -1:
            assert math.isclose(math.hypot(x, y), 1.0)
            assert y >= -1e-12
        else:
            assert math.isclose(math.hypot(x - 1.0, y - 0.5), 1.0)
            assert y <= 0.5 + 1e-12


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: datasets.moons(0), "n must be a positive integer"),
        (lambda: datasets.moons(10, noise=-1.0), "noise must be a finite number"),
        (lambda: datasets.linear(10, noise=math.nan), "noise must be a finite number"),
        (lambda: datasets.yinyang(5), "at least 10"),
    ],
)
def test_datasets_reject_bad_arguments(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


def test_dataset_seed_must_be_an_integer() -> None:
    with pytest.raises(TypeError, match="seed must be an integer"):
        datasets.moons(10, seed="a")  # type: ignore[arg-type]
