"""The command line, as a user runs it: exit codes and messages that point at the problem (check-engine has
its own file, tests/test_check_engine.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gradverify.cli import main


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
    assert data["engine"]["grads"]["x"] == pytest.approx(2.8399486832280525, rel=1e-15, abs=0.0)


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
        # Issue 14: names given twice, NFKC, and messages that name no internals (ast's ListComp, errno 34).
        (["x + y", "--at", "x=1,x=2,y=3"], ["gives x twice"]),
        (["x", "--at", "x=1, x =2"], ["gives x twice"]),
        (["x", "--at", "ﬁ=1,x=2"], ["names fi"]),  # NFKC: the ligature is the name fi
        (["x", "--at", "x y=1"], ["not a variable name"]),
        (["[x for x in y]", "--at", "y=1"], ["'['", "^"]),
        (["f'{x}'", "--at", "x=1"], ["unexpected"]),
        (["x ** -2", "--at", "x=1e-160"], ["pow", "overflows a float"]),
        (["lambda + x", "--at", "x=1"], ["keyword"]),
        (["x // 2", "--at", "x=1"], ["unsupported operator '//'"]),
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
    for internal in ("ListComp", "JoinedStr", "Errno", "(34,", "Traceback", "ast."):
        assert internal not in err, err


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


def test_fuzz_reports_the_share_of_points_it_could_not_verify(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Counted apart from agreement, and rare by construction (the strategy keeps inputs away from kinks, domain
    # edges and overflow; what remains is mostly saturated tanh/sigmoid chains): about 1% measured.
    target = tmp_path / "campaign.json"
    code, out, _ = run(capsys, "fuzz", "--examples", "60", "--seed", "14", "--json", str(target))
    assert code == 0
    data = json.loads(target.read_text())
    assert data["unverified"] <= 0.05 * data["checks"]
    assert f"not counted as agreement): {data['unverified']} of {data['checks']} points" in out


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


# ---- issue 14: verdicts at the edges, exit statuses -------------------------------------------------------


def test_grad_exits_3_when_no_referee_can_verify_a_gradient(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Allowed error 18 against an exact gradient of -1.36: the engine's 0.29 "passed". Nothing disagrees, but
    # nothing was verified either.
    target = tmp_path / "verdict.json"
    code, out, _ = run(capsys, "grad", "(1 + x) ** (1 / x)", "--at", "x=1e-8", "--json", str(target))
    assert code == 3
    assert "none could verify d/dx" in out
    assert "all referees agree" not in out
    data = json.loads(target.read_text())
    assert (data["ok"], data["verified"], data["unverified"]) == (True, False, ["x"])


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["log(x)", "--at", "x=1e-300", "--plant", "log-no-backward"], 1),  # was exit 0: "all referees agree"
        (["relu(x) + relu(-x)", "--at", "x=1e-300", "--plant", "relu-mask-flipped"], 1),  # was "2.0 <= 2.0 ok"
        (["exp(x)", "--at", "x=708"], 0),  # was exit 1: finite differences overflowed
        (["exp(x)*y", "--at", "x=700,y=1e4"], 0),
    ],
)
def test_grad_at_the_edges_of_the_float_range(capsys: pytest.CaptureFixture[str], argv: list[str], code: int) -> None:
    assert run(capsys, "grad", *argv)[0] == code


@pytest.mark.parametrize("point", ["x=1e-160", "x=-1e-155"])
def test_grad_an_overflowing_gradient_is_bad_input_not_a_defect(capsys: pytest.CaptureFixture[str], point: str) -> None:
    code, out, err = run(capsys, "grad", "1 / x", "--at", point)
    assert code == 2
    assert out == ""
    assert "overflows a float" in err


@pytest.mark.parametrize(
    ("text", "at", "value"),
    [
        ("-x", "x=1", "-1.0"),
        ("-x * y", "x=1,y=2", "-2.0"),
        ("-(x + y) ** 2", "x=1,y=2", "-9.0"),
        ("---x", "x=1", "-1.0"),
    ],
)
def test_grad_an_expression_may_start_with_a_minus(
    capsys: pytest.CaptureFixture[str], text: str, at: str, value: str
) -> None:
    for argv in (["grad", text, "--at", at], ["grad", "--at", at, text], ["grad", "--at", at, "--", text]):
        code, out, err = run(capsys, *argv)
        assert code == 0, err
        assert value in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"gradverify {version('gradverify')}"


def test_grad_names_are_compared_after_nfkc_on_both_sides(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "grad", "ﬁ * 2", "--at", "fi=1")[0] == 0
    assert run(capsys, "grad", "fi * 2", "--at", "ﬁ=1")[0] == 0


def test_grad_long_expressions_need_no_recursion(capsys: pytest.CaptureFixture[str]) -> None:
    # Each of these raised RecursionError (exit 1) in Python's ast; 100,000-node versions are in test_big.py.
    texts = [
        " + ".join(["x"] * 495),
        "; ".join(["t0 = x"] + [f"t{i + 1} = tanh(t{i})" for i in range(600)] + ["t600"]),
        "(" * 600 + "x" + " ** 1.0)" * 600,
        "-" * 1000 + "x",
    ]
    for text in texts:
        code, _, err = run(capsys, "grad", text, "--at", "x=0.5")
        assert code == 0, err[-500:]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["fuzz", "--max-ops", "0"], ["--max-ops", "at least 1"]),
        (["fuzz", "--examples", "0"], ["--examples", "at least 1"]),
        (["fuzz", "--workers", "0"], ["--workers", "at least 1"]),
        (["fuzz", "--ops", ""], ["--ops", "one or more"]),
        (["fuzz", "--ops", ","], ["--ops", "one or more"]),
        (["fuzz", "--ops", "tanh,,exp"], ["--ops", "one or more"]),
        (["fuzz", "--plant", "nope"], ["--plant", "nope"]),
        (["bugs", "--run", "--examples", "0"], ["--examples", "at least 1"]),
        (["bugs", "--only", ""], ["--only", "one or more"]),
        (["bugs", "--only", "tanh-one-minus-t,nope"], ["--only", "unknown nope"]),
    ],
)
def test_numbers_and_lists_are_checked_up_front(
    capsys: pytest.CaptureFixture[str], argv: list[str], words: list[str]
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    for word in words:
        assert word in err, err


@pytest.mark.parametrize("command", [["grad", "x", "--at", "x=1"], ["fuzz", "--examples", "100000"]])
def test_json_paths_are_checked_before_the_work(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str]
) -> None:
    for path, words in [(tmp_path / "missing" / "out.json", "does not exist"), (tmp_path, "is a directory")]:
        code, out, err = run(capsys, *command, "--json", str(path))
        assert code == 2
        assert out == ""  # refused before any work
        assert words in err
    assert list(tmp_path.iterdir()) == []  # and nothing left behind


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_json_that_fails_at_the_end_is_printed_instead(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "grad", "x * y", "--at", "x=1,y=2", "--json", "/dev/full")
    assert code == 2
    assert "could not write /dev/full" in err
    assert "No space left on device" in err
    data = json.loads(out[out.index("{") :])
    assert data["verified"] is True


@pytest.mark.parametrize(
    "argv",
    [
        ["fuzz", "--examples", "5", "--seed", "1", "--max-ops", "3"],
        ["bugs", "--run", "--only", "assign-not-accumulate", "--examples", "5"],
    ],
)
def test_fuzz_and_bugs_write_nothing_they_were_not_asked_to(tmp_path: Path, argv: list[str]) -> None:
    # A seeded campaign keeps no database, and Hypothesis's own files (.hypothesis/) go to a temporary folder.
    result = subprocess.run(
        [sys.executable, "-m", "gradverify", *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": ""},
    )
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_hypothesis_home_is_given_back_as_it_was(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # After a private home, Hypothesis writes where it did before (an earlier version gave back the repr of its
    # StorageDirectory object, and later runs in the process wrote to a folder named '<hypothesis...>').
    from hypothesis.configuration import storage_directory

    from gradverify.fuzz import private_hypothesis_home

    monkeypatch.delenv("HYPOTHESIS_STORAGE_DIRECTORY", raising=False)
    before = storage_directory("constants", intent_to_write=False).path
    with private_hypothesis_home():
        inside = storage_directory("constants", intent_to_write=False).path
        assert inside.parent.name.startswith("gradverify-hypothesis-")  # a temporary home of its own
    assert storage_directory("constants", intent_to_write=False).path == before


def test_fuzz_caps_workers_at_the_cpus(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "fuzz", "--examples", "2", "--workers", "512", "--seed", "1", "--max-ops", "3")
    assert code == 0
    assert "--workers 512" in err
    assert "using" in err
    assert "2/2 (100%)" in out


def test_fuzz_progress_never_passes_100_percent(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # A planted bug makes Hypothesis shrink, calling the test many more times than --examples.
    argv = ["fuzz", "--plant", "assign-not-accumulate", "--examples", "3", "--database", str(tmp_path / "db")]
    code, out, _ = run(capsys, *argv)
    assert code == 1
    counts = [line.split(": ")[1].split()[0] for line in out.splitlines() if line.startswith("checking random")]
    assert all(int(c.split("/")[0]) <= 3 for c in counts), counts


def _fuzz_process(cwd: Path, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "gradverify", "fuzz", "--max-ops", "3", "--seed", "1", *argv],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_during_fuzz_exits_130_with_one_line_and_a_partial_summary(tmp_path: Path, workers: str) -> None:
    import signal
    import time

    process = _fuzz_process(tmp_path, "--examples", "100000", "--workers", workers)
    time.sleep(12)  # started and checking; whatever was checked so far is what the summary must show
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C at a terminal does: the whole foreground group
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert err.strip().count("\n") == 0, err  # one line, no traceback from any process
    assert err.startswith("interrupted")
    assert "expressions checked" in out


@pytest.mark.slow
def test_one_dead_worker_loses_only_its_own_share(tmp_path: Path) -> None:
    import signal
    import time

    # Enough examples that both workers are still at work when one is killed (each checks 100 or so a second).
    process = _fuzz_process(tmp_path, "--examples", "6000", "--workers", "2")
    workers: list[int] = []
    for _ in range(300):
        time.sleep(0.1)
        listing = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(process.pid)], capture_output=True, text=True)
        workers = [int(line.split()[0]) for line in listing.stdout.splitlines() if "spawn_main" in line]
        if len(workers) == 2:
            break
    assert len(workers) == 2
    time.sleep(3)
    os.kill(workers[0], signal.SIGKILL)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 2, err
    assert out.count("worker process died") == 1
    assert "3000 expressions checked" in out  # the other worker's share, whole


def _flags(parser: object) -> list[tuple[str, str, str]]:
    import argparse

    assert isinstance(parser, argparse.ArgumentParser)
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += [(name, flag, text) for _, flag, text in _flags(sub)]
        elif not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            found.append(("", "/".join(action.option_strings) or action.dest, action.help or ""))
    return found


def test_every_flag_has_an_example_or_a_default() -> None:
    from gradverify.cli import build_parser

    flags = _flags(build_parser())
    assert len(flags) > 20
    vague = [f"{cmd} {flag}: {text}" for cmd, flag, text in flags if "e.g." not in text and "default" not in text]
    assert vague == []
