"""The command line, as a user runs it: exit codes, messages that point at the problem, and other people's
engines (correct, broken, hanging, with another API) from tests/engines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gradverify.cli import main

ENGINES = Path(__file__).parent / "engines"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ---- grad -------------------------------------------------------------------------------------------------


def test_grad_agrees(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "verdict.json"
    code, out, _ = run(capsys, "grad", "tanh(x*y) + log(x)", "--at", "x=0.5,y=2", "--json", str(target))
    assert code == 0
    assert "all referees agree" in out
    assert "d/dx" in out
    assert "d/dy" in out
    data = json.loads(target.read_text())
    assert data["ok"] is True
    assert data["engine"]["grads"]["x"] == pytest.approx(2.8399486832280525, rel=1e-15)


def test_grad_bindings_and_python_snippet_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "grad", "t = x*y; relu(t - 1) * t", "--at", "x=1.5,y=1", "--python")
    assert code == 0
    snippet = out[out.index("from autodiff import Value") :]
    result = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, check=True)
    value, dx, dy = map(float, result.stdout.split())
    assert (value, dx, dy) == (0.75, 2.0, 3.0)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["tanh(x*y) + lg(x)", "--at", "x=1,y=2"], ["unknown function 'lg'", "^"]),
        (["log(x", "--at", "x=1"], ["'(' is never closed"]),
        (["log(x) + y", "--at", "x=1"], ["no value for y"]),
        (["log(x)", "--at", "x=1,z=2"], ["names z"]),
        (["log(x)", "--at", "x=-1"], ["log", "-1.0", "> 0"]),
        (["x / y", "--at", "x=1,y=0"], ["div", "0.0"]),
        (["exp(exp(x))", "--at", "x=10"], ["overflows"]),
        (["x + 1", "--at", "x=abc"], ["not a number"]),
        (["x + 1", "--at", "x=nan"], ["not a finite number"]),
        (["__import__('os').system('true')", "--at", "x=1"], ["unknown function"]),
        (["x.real", "--at", "x=1"], ["unexpected '.'", "^"]),
        (["2 + 3", "--at", ""], ["no variables"]),
    ],
)
def test_grad_bad_input_exits_2_with_a_pointed_message(
    capsys: pytest.CaptureFixture[str], argv: list[str], words: list[str]
) -> None:
    code, out, err = run(capsys, "grad", *argv)
    assert code == 2
    assert out == ""
    for word in words:
        assert word in err, err


# ---- fuzz -------------------------------------------------------------------------------------------------


def test_fuzz_small_campaign(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "campaign.json"
    database = tmp_path / "db"
    code, out, _ = run(
        capsys, "fuzz", "--examples", "8", "--seed", "3", "--json", str(target), "--database", str(database)
    )
    assert code == 0
    assert "no defect found" in out
    # Not a terminal here: plain progress lines instead of a live bar, the last one at the end.
    assert "checking random expressions three ways: 8/8 (100%)" in out
    data = json.loads(target.read_text())
    assert data["examples"] == 8
    assert data["defects"] == []
    assert set(data["worst"]) == {"sympy", "fd", "torch"}


def test_fuzz_finds_a_planted_bug_and_replays_it_first(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # No --seed here: a seeded Hypothesis run keeps no database. exp appears in most expressions, so a
    # random campaign of 200 finds this bug every time.
    argv = ["fuzz", "--plant", "exp-of-out", "--examples", "200", "--database", str(tmp_path / "db")]
    code, out, _ = run(capsys, *argv)
    assert code == 1
    assert "blame" in out
    assert "replay: gradverify grad --plant exp-of-out" in out
    saved = sum(len(files) for _, _, files in os.walk(tmp_path / "db"))
    assert saved >= 1, "the failure was not kept in the database"
    code, out, _ = run(capsys, *argv)
    assert code == 1
    replayed_after = int(out.split("found after ")[1].split()[0])
    assert replayed_after <= saved, "the saved failures were not replayed first"


def test_fuzz_rejects_unknown_ops(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "fuzz", "--ops", "tanh,sinh")
    assert code == 2
    assert "sinh" in err


def test_fuzz_with_two_workers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "fuzz", "--examples", "4", "--workers", "2", "--seed", "1", "--no-database")
    assert code == 0
    assert "4 expressions checked" in out


# ---- bugs -------------------------------------------------------------------------------------------------


def test_bugs_catalog_lists_at_least_eight(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "bugs")
    assert code == 0
    for name in ("tanh-one-minus-t", "assign-not-accumulate", "rsub-order", "recursive-topo", "exp-of-out"):
        assert name in out


def test_bugs_run_catches_and_shrinks(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "bugs", "--run", "--only", "tanh-one-minus-t,recursive-topo", "--examples", "100")
    assert code == 0
    assert "caught by the three referees" in out
    assert "smallest counterexample: tanh(" in out
    assert "RecursionError" in out


# ---- check-engine -----------------------------------------------------------------------------------------


def test_lecture_micrograd_gets_a_clean_bill(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check-engine", str(ENGINES / "lecture_micrograd.py"), "--examples", "15")
    assert code == 0, out
    assert "every op this engine has gives the right gradients" in out
    assert "missing" in out  # log, relu, sigmoid, and Value ** Value
    assert "RecursionError" in out  # reported as an engine-level note, not a gradient error


def test_broken_engine_is_caught_and_each_bug_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    code, out, _ = run(
        capsys, "check-engine", str(ENGINES / "broken_micrograd.py"), "--examples", "10", "--json", str(target)
    )
    assert code == 1
    report = json.loads(target.read_text())
    assert report["ops"]["tanh"]["status"] == "wrong gradient"
    reuse = next(f for f in report["findings"] if f["name"].startswith("gradients summed over reuse"))
    assert reuse["ok"] is False
    assert "+= rather than =" in out


def test_hanging_and_crashing_engine_is_reported_not_fatal(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    code, _, _ = run(
        capsys,
        "check-engine",
        str(ENGINES / "hanging_engine.py"),
        "--examples",
        "5",
        "--timeout",
        "2",
        "--json",
        str(target),
    )
    assert code == 1
    report = json.loads(target.read_text())
    assert report["ops"]["exp"]["status"] == "too slow"
    assert report["ops"]["log"]["status"] == "crash"
    assert report["ops"]["mul"]["status"] == "correct"


def test_engine_with_another_api(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check-engine", f"{ENGINES / 'renamed_engine.py'}:Scalar", "--examples", "15")
    assert code == 0, out
    assert ".value" in out
    assert ".backprop()" in out
    assert "seeded by hand" in out


def test_replay_of_a_counterexample(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "check-engine", str(ENGINES / "broken_micrograd.py"), "--replay", "tanh(x)", "--at", "x=0.5"
    )
    assert code == 1
    assert "tanh" in out


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("no_such_file.py", ["no such file"]),
        ("no.such.module", ["importing no.such.module failed"]),
        (f"{ENGINES / 'lecture_micrograd.py'}:Nope", ["has no class Nope"]),
    ],
)
def test_check_engine_usage_errors(capsys: pytest.CaptureFixture[str], spec: str, words: list[str]) -> None:
    code, _, err = run(capsys, "check-engine", spec)
    assert code == 2
    for word in words:
        assert word in err


# ---- help -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["grad", "fuzz", "bugs", "check-engine"])
def test_help_explains_every_flag_with_an_example(command: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gradverify", command, "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "100"},
    )
    assert "examples:" in result.stdout
    assert "gradverify " + command in result.stdout.split("examples:")[1]
