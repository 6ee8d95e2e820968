"""`gradverify check-engine` on other people's engines: every engine of tests/engines/ (the catalog in
tests/engine_catalog.py says what each student wrote and what is wrong with it, established by comparing each
with PyTorch), checked for the exit status, the right kind of finding on the right op, and no finding anywhere
else. Then the flags, the replay, and the report's shape."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest

from gradverify.cli import main

ENGINES = Path(__file__).parent / "engines"


def _catalog() -> object:
    # tests/ is not a package (pytest imports in importlib mode): load the catalog from its file.
    spec = importlib.util.spec_from_file_location("engine_catalog", Path(__file__).parent / "engine_catalog.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["engine_catalog"] = module
    spec.loader.exec_module(module)
    return module


_cat = _catalog()
CATALOG = _cat.CATALOG  # type: ignore[attr-defined]
Entry = _cat.Entry  # type: ignore[attr-defined]
DEFECT_KINDS = {
    "wrong-value",
    "wrong-gradient",
    "crash",
    "returns-none",
    "returns-non-value",
    "grad-not-number",
    "overwrites-gradient",
    "ignores-upstream",
    "too-slow",
}


def check(tmp_path: Path, entry: Entry, *extra: str) -> tuple[int, dict[str, object], str]:
    report = tmp_path / "report.json"
    argv = ["check-engine", str(ENGINES / entry.file) + entry.spec, *entry.flags, "--json", str(report), *extra]
    code = main(argv)
    data = json.loads(report.read_text()) if report.exists() else {}
    return code, data, " ".join(argv)


@pytest.mark.parametrize("entry", CATALOG, ids=[e.file.removesuffix(".py") for e in CATALOG])
def test_catalog_engine_gets_the_right_verdict(
    entry: Entry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report, command = check(tmp_path, entry, "--examples", "5", "--timeout", "3")
    out = capsys.readouterr().out
    context = f"{command}\n{entry.story}\n{out}"
    assert code == entry.exit, context
    if entry.exit == 2:
        return
    ops: dict[str, dict[str, object]] = report["ops"]  # type: ignore[assignment]
    for row, kinds in entry.ops.items():
        assert ops[row]["kind"] in kinds, f"{row}: {ops[row]['kind']}, expected one of {sorted(kinds)}\n{context}"
    for row, found in ops.items():
        if row in entry.ops:
            continue
        if row in entry.missing:
            assert found["kind"] in ("missing", "unsupported"), f"{row}: {found['kind']}, expected missing\n{context}"
        else:
            assert found["kind"] not in DEFECT_KINDS, f"{row}: a false {found['kind']}\n{context}"
    codes = {f["code"] for f in report["findings"]}  # type: ignore[index, union-attr]
    defects = {f["code"] for f in report["findings"] if f["defect"]}  # type: ignore[index, union-attr]
    assert entry.engine <= defects, f"engine-level: found {sorted(defects)}, expected {sorted(entry.engine)}\n{context}"
    assert defects <= entry.engine, f"engine-level: false {sorted(defects - entry.engine)}\n{context}"
    assert entry.notes <= codes, f"notes: found {sorted(codes)}, expected {sorted(entry.notes)}\n{context}"


# ---- flags and usage errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["no_such_file.py"], ["no such file"]),
        (["no.such.module"], ["importing no.such.module failed"]),
        ([f"{ENGINES / 'lecture_micrograd.py'}:Nope"], ["has no class Nope"]),
        ([str(ENGINES / "lecture_micrograd.py"), "--data-attr", "nope"], ["--data-attr nope", "no attribute"]),
        ([str(ENGINES / "lecture_micrograd.py"), "--grad-attr", "nope"], ["--grad-attr nope"]),
        ([str(ENGINES / "lecture_micrograd.py"), "--backward-method", "nope"], ["--backward-method nope"]),
        ([str(ENGINES / "lecture_micrograd.py"), "--leaf-class", "Nope"], ["--leaf-class Nope"]),
        ([str(ENGINES / "lecture_micrograd.py"), "--leaf-kwargs", "requires_grad"], ["--leaf-kwargs"]),
        ([str(ENGINES / "lecture_micrograd.py"), "--leaf-kwargs", "flag=yes please"], ["not a Python literal"]),
        ([str(ENGINES / "lecture_micrograd.py"), "--timeout", "nan"], ["--timeout"]),
        ([str(ENGINES / "lecture_micrograd.py"), "--timeout", "0"], ["--timeout"]),
        ([str(ENGINES / "lecture_micrograd.py"), "--timeout", "-1"], ["--timeout"]),
        ([str(ENGINES / "lecture_micrograd.py"), "--examples", "-1"], ["--examples"]),
        ([str(ENGINES / "lecture_micrograd.py"), "--op", "softplus=log(1 + exp(x))"], ["--op", "NAME(ARGS)"]),
        ([str(ENGINES / "lecture_micrograd.py"), "--op", "tanh(x)=x"], ["already an op"]),
        ([str(ENGINES / "lecture_micrograd.py"), "--op", "f(x)=x * y"], ["uses y"]),
        ([str(ENGINES / "lecture_micrograd.py"), "--replay", "tanh(x)"], ["--replay needs --at"]),
        ([str(ENGINES / "lecture_micrograd.py"), "--json", "/no/such/folder/r.json"], ["--json", "does not exist"]),
        ([str(ENGINES / "lecture_micrograd.py"), "--json", "/tmp"], ["--json", "is a directory"]),
    ],
)
def test_usage_errors_name_the_flag(capsys: pytest.CaptureFixture[str], argv: list[str], words: list[str]) -> None:
    code = main(["check-engine", *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    for word in words:
        assert word in err, err
    assert "Traceback" not in err


def test_a_library_the_engine_lacks_is_named_with_how_to_install_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = tmp_path / "needs_a_library.py"
    engine.write_text("import no_such_library_xyz\n" + (ENGINES / "lecture_micrograd.py").read_text())
    assert main(["check-engine", str(engine)]) == 2
    err = capsys.readouterr().err
    assert "No module named 'no_such_library_xyz'" in err
    assert "-m pip install no_such_library_xyz" in err


def test_a_flag_that_names_something_real_is_taken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "r.json"
    flags = ["--data-attr", "value", "--grad-attr", "gradient", "--backward-method", "backprop", "--seed-root", "yes"]
    code = main(["check-engine", str(ENGINES / "renamed_engine.py"), *flags, "--examples", "0", "--json", str(report)])
    assert code == 0, capsys.readouterr().out
    api = json.loads(report.read_text())["api"]
    assert (api["data"], api["grad"], api["backward"], api["seed_root"]) == (
        "value",
        "gradient",
        ["method", "backprop"],
        True,
    )


def test_replay_shows_the_counterexample_again(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check-engine", str(ENGINES / "broken_micrograd.py"), "--replay", "tanh(x)", "--at", "x=0.5"])
    out = capsys.readouterr().out
    assert code == 1
    assert "0.5378828427399902" in out  # the engine's (1 - t) * 1 at x = 0.5
    code = main(["check-engine", str(ENGINES / "broken_micrograd.py"), "--replay", "exp(x) + x", "--at", "x=0.5"])
    assert code == 0, capsys.readouterr().out


def test_replay_with_int_constants_reaches_an_int_only_fault(capsys: pytest.CaptureFixture[str]) -> None:
    engine = str(ENGINES / "int_only_bugs.py")
    assert main(["check-engine", engine, "--replay", "x - 2", "--at", "x=0.5"]) == 0
    assert main(["check-engine", engine, "--replay", "x - 2", "--at", "x=0.5", "--int-constants"]) == 1
    assert "AttributeError" in capsys.readouterr().out


def test_the_json_report_has_every_op_and_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entry = next(e for e in CATALOG if e.file == "combo_three_bugs.py")
    code, report, _ = check(tmp_path, entry, "--examples", "0")
    assert code == 1
    assert set(report["ops"]) >= {"add", "tanh", "c - x", "x - c", "c ** x"}
    wrong = report["ops"]["c - x"]
    assert wrong["kind"] == "wrong-value"
    assert wrong["defect"] is True
    assert wrong["counterexample"].startswith(("2 - x", "3 - x", "-1 - x", "2.0 - x"))
    assert "--replay" in wrong["replay"]
    assert report["exit_status"] == 1
    assert any("c - x" in d for d in report["defects"])
    assert {"ops alone", "ops in context", "graph walk"} <= set(report["seconds"])
    assert all({"code", "title", "defect", "detail"} <= set(f) for f in report["findings"])


def test_nothing_is_written_where_it_was_not_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(["check-engine", str(ENGINES / "broken_micrograd.py"), "--examples", "10"])
    assert code == 1
    assert list(tmp_path.iterdir()) == []  # no .hypothesis/, no report


def test_what_the_engine_prints_stays_out_of_the_report(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    entry = next(e for e in CATALOG if e.file == "stderr_flood.py")
    code, report, _ = check(tmp_path, entry, "--examples", "5")
    out, err = capfd.readouterr()
    assert code == 0
    assert len(out) + len(err) < 100_000, "the engine's prints reached the terminal"
    flood = next(f for f in report["findings"] if f["code"] == "stderr-flood")
    assert "MB" in flood["detail"] or "KB" in flood["detail"]
    assert report["output_bytes"] > 100_000


def test_a_form_reported_wrong_is_left_out_of_the_random_expressions_however_its_number_is_made() -> None:
    """rpow_backwards gets `c ** x` wrong (its own row). In random expressions the base can be a constant or a
    numbers-only subexpression that Python computes, `(1.0 + 0.5) ** x`: both go in as leaves, or the search
    blames the engine as a whole for the row's fault (a second, false, engine-level finding)."""
    from gradverify.engines.remote import RemoteEngine
    from oracles.expr import parse

    engine = RemoteEngine(str(ENGINES / "rpow_backwards.py"), {}, timeout=10.0)
    try:
        computed = parse("(1.0 + 0.5) ** x")
        right = 1.5**0.5 * math.log(1.5)  # d/dx 1.5 ** x at x = 0.5
        assert engine.run(computed, {"x": 0.5}).grads["x"] != pytest.approx(right, rel=1e-12, abs=0)  # the fault
        engine.wrap = [("powv", 0)]
        for expr in (parse("1.5 ** x"), computed):
            assert engine.run(expr, {"x": 0.5}).grads["x"] == pytest.approx(right, rel=1e-12, abs=0)
    finally:
        engine.child.close()


def test_an_import_slower_than_the_time_limit_names_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slow = tmp_path / "trains_at_import.py"
    slow.write_text((ENGINES / "lecture_micrograd.py").read_text() + "\nimport time\ntime.sleep(5)\n")
    assert main(["check-engine", str(slow), "--timeout", "1"]) == 2
    err = capsys.readouterr().err
    assert "took more than 1 s" in err
    assert "--timeout" in err


def test_inputs_of_a_constructor_without_defaults_are_made_with_no_children(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = next(e for e in CATALOG if e.file == "required_children_op.py")
    code, report, _ = check(tmp_path, entry, "--examples", "0")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Value(1.5, children=(), op='')" in out  # how inputs are made, said once
    assert report["ops"]["powv"]["detail"].startswith("the engine refuses it: TypeError")  # its own raise


def test_an_op_that_fails_everywhere_is_not_also_an_overflow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # tanh returns None: its row says so, and tanh(800) returning None is not a float overflowing.
    entry = next(e for e in CATALOG if e.file == "tanh_none_neg_float.py")
    code, report, _ = check(tmp_path, entry, "--examples", "0")
    capsys.readouterr()
    assert code == 1
    assert report["ops"]["tanh"]["kind"] == "returns-none"
    assert all("None" not in f["detail"] for f in report["findings"] if f["code"] == "overflow-large-inputs")
    codes = {f["code"] for f in report["findings"]}
    assert "overflow-large-inputs" not in codes


def test_a_skeleton_whose_one_class_has_no_op_yet_is_nothing_verified(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    skeleton = tmp_path / "skeleton.py"
    skeleton.write_text(
        "class Value:\n    def __init__(self, data):\n        self.data = data\n        self.grad = 0.0\n\n"
        "    def backward(self):\n        raise NotImplementedError('homework')\n"
    )
    assert main(["check-engine", str(skeleton), "--examples", "0"]) == 3
    assert "nothing could be verified" in capsys.readouterr().out


def test_declared_ops_are_in_the_random_expressions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The strategy asked each op for its float derivative, which a declared op does not have: generation
    # failed after a dozen examples, silently, and no declared op was ever fuzzed.
    entry = next(e for e in CATALOG if e.file == "custom_ops_correct.py")
    code, report, _ = check(tmp_path, entry, "--examples", "40")
    capsys.readouterr()
    assert code == 0
    declared = [a.split("(")[0] for a in entry.flags if "=" in a]
    assert declared
    for name in declared:
        assert report["ops"][name]["random_expressions"] > 0, name
    assert report["ops"]["add"]["random_expressions"] >= 20
    assert all(f["code"] != "random-phase-stopped" for f in report["findings"])


def test_an_engine_with_no_backward_at_all_gets_a_report_not_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forward_only = tmp_path / "forward_only.py"
    forward_only.write_text(
        "class Value:\n    def __init__(self, data, _children=None):\n        self.data = data\n"
        "        self._children = _children\n\n    def __add__(self, other):\n"
        "        return Value(self.data + other.data, (self, other))\n\n    def __mul__(self, other):\n"
        "        return Value(self.data * other.data, (self, other))\n"
    )
    report = tmp_path / "r.json"
    assert main(["check-engine", str(forward_only), "--json", str(report)]) == 3
    out = capsys.readouterr().out
    assert "--backward-method" in out  # the flag, for a backward with a name of its own
    data = json.loads(report.read_text())
    assert data["exit_status"] == 3
    assert data["ops"]["add"]["kind"] == "not-exercised"
