"""`gradverify check-engine` on other people's engines: every engine of tests/engines/ (the catalog in
tests/engine_catalog.py says what each student wrote and what is wrong with it, established by comparing each
with PyTorch), checked for the exit status, the right kind of finding on the right op, and no finding anywhere
else. Then the flags, the replay, and the report's shape."""

from __future__ import annotations

import importlib.util
import json
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
