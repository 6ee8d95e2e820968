"""The parent's side of someone else's engine: requests to the child process, under a time limit each.

A request that takes longer than `timeout` kills the child, a child that dies is noticed; either way a fresh
child is started, the engine reloaded with the configuration found the first time, and the answer is an
`Observation` that says so (with where the engine was: building the expression, or in backward()). What the
engine prints is kept in part (`output`), never shown on the terminal.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gradverify.engines.child import EngineSpecError
from oracles.child import Child, ChildDied, TooSlow
from oracles.engines import EngineAdapter, EngineRun
from oracles.expr import Apply, Expr, Var, to_json

__all__ = ["EngineSpecError", "Observation", "RemoteEngine"]


@dataclass
class Observation:
    """What one request saw. `status`: "ok", "error" (the engine raised), "bad" (an op returned None or a plain
    number), "slow" (no answer in time) or "died" (the process ended)."""

    status: str
    value: float | None = None
    value_kind: str = "number"
    grads: dict[str, float | None] = field(default_factory=dict)
    grad_kinds: dict[str, str] = field(default_factory=dict)
    grads2: dict[str, float | None] = field(default_factory=dict)
    adjoints: dict[bytes, float] = field(default_factory=dict)
    seconds: float = 0.0
    error: dict[str, Any] | None = None  # type, text, where, phase, op, unsupported, refused
    bad: dict[str, Any] | None = None  # node, op, kind ("none", "number", "other"), shown
    text: str = ""  # for "slow" and "died": what happened, and where
    nodes: int | None = None  # how many nodes the engine built (inputs not counted), where it can tell

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def numbers_ok(self) -> bool:
        """The value and every gradient came back as finite numbers."""
        return (
            self.ok
            and self.value_kind == "number"
            and self.value is not None
            and all(k == "number" for k in self.grad_kinds.values())
            and all(g is not None and math.isfinite(g) for g in self.grads.values())
        )

    def describe(self) -> str:
        """One line: what went wrong (for anything but "ok")."""
        if self.status in ("slow", "died"):
            return self.text
        if self.status == "bad" and self.bad is not None:
            what = {"none": "returned None", "number": f"returned a plain number ({self.bad['shown']}), not a Value"}
            return what.get(self.bad["kind"], f"returned {self.bad['shown']}, not a Value")
        if self.error is not None:
            where = f" (at {self.error['where']})" if self.error.get("where") else ""
            phase = {"forward": "", "backward": " in backward()", "read": " reading the result"}[self.error["phase"]]
            return f"{self.error['text']}{phase}{where}"
        return "ok"


class RemoteEngine(EngineAdapter):
    """An EngineAdapter whose work happens in a child process (`python -m gradverify.engines.child`)."""

    def __init__(
        self, spec: str, overrides: Mapping[str, Any], timeout: float, custom: Mapping[str, int] | None = None
    ) -> None:
        self.spec, self.overrides, self.timeout = spec, dict(overrides), timeout
        self.custom = dict(custom or {})
        self.child = Child("gradverify.engines.child", capture=True)
        self.deaths: list[str] = []  # each time the process died or was killed, and where
        self.ints = False  # `run` passes whole-number constants as ints (replaying an int-only fault)
        self.wrap: list[tuple[str, int]] = []  # (op, side): numbers given as leaves there, in `run` (see campaign)
        try:
            loaded = self._request(("load", spec, self.overrides, self.custom), what=f"loading {spec}")
        except _Failed as e:  # the import itself hangs or kills the interpreter: nothing to check
            slow = "took more than" in str(e)
            hint = " (a file that trains a model or downloads data when imported needs longer: --timeout 60)"
            raise EngineSpecError(f"{e}{hint if slow else ''}") from None
        self.where: str = loaded["where"]
        self.config: dict[str, Any] = loaded["config"]
        self.backward_problem: str | None = None
        try:
            found = self._request(("detect_backward", self.overrides), what="running backward() to detect its API")
            self.config.update(found)
        except _Failed as e:
            # backward() itself kills the process or hangs: every op will say so; the API is what the names say.
            self.backward_problem = str(e)
            self.config.setdefault("backward", ("method", "backward"))
            self.config.setdefault("grad", "grad")
            self.config.setdefault("seed", False)
            self.config["gradient_reaches"] = False
            self.config["notes"] = []
            self._restart()  # a fresh process, the engine loaded again, for the ops to be tried one by one
        super().__init__(
            name=self.where,
            make=_unavailable,
            data=_unavailable,
            grad=_unavailable,
            backward=_unavailable,
            method=lambda op: (self.config["ops"].get(op) or (None, None))[1],
            keeps_inner_grads=True,
        )

    # ---- talking to the child -------------------------------------------------------------------------

    def _request(self, request: tuple[Any, ...], what: str) -> Any:
        """A request during loading: a spec error is a usage error, a death or a time-out is `_Failed`."""
        try:
            status, payload = self.child.request(request, self.timeout)
        except TooSlow:
            raise _Failed(f"{what} took more than {self.timeout:g} s") from None
        except ChildDied as e:
            raise _Failed(f"{what} killed the process ({e})") from None
        if status == "spec":
            self.child.close()
            raise EngineSpecError(payload)
        if status != "ok":
            self.child.close()
            raise EngineSpecError(f"{what} failed: {payload}")
        return payload

    def ask(self, *request: Any, seconds: float | None = None) -> tuple[str, Any]:
        """("ok", answer) or ("error", text), or ("slow", text) / ("died", text) after which the child is fresh."""
        budget = self.timeout if seconds is None else seconds
        try:
            return self.child.request(request, budget)  # type: ignore[no-any-return]
        except TooSlow as e:
            text = f"no answer within {budget:g} s" + _phase(e.note)
            self.deaths.append(text)
            self._restart()
            return ("slow", text)
        except ChildDied as e:
            text = f"{e}{_phase(e.note)}".replace("the process died", "the process ended")
            self.deaths.append(text)
            self._restart()
            return ("died", text)

    def _restart(self) -> None:
        # A fresh process, the same engine, the configuration found the first time (no detection again).
        config = {k: v for k, v in self.config.items() if k != "notes"}
        with contextlib.suppress(TooSlow, ChildDied):  # the next request will fail the same way, and say so
            self.child.request(("configure", self.spec, config), max(self.timeout, 10.0))

    def observe(
        self,
        expr: Expr,
        point: Mapping[str, float],
        ints: bool = False,
        twice: bool = False,
        adjoints: bool = False,
        seconds: float | None = None,
        wrap: bool = False,
        shuffle: int = 0,
    ) -> Observation:
        request = {
            "expr": to_json(expr),
            "point": dict(point),
            "ints": ints,
            "twice": twice,
            "adjoints": adjoints,
            "wrap": self.wrap if wrap else [],
            "shuffle": shuffle,
        }
        status, payload = self.ask("observe", request, seconds=seconds)
        if status in ("slow", "died"):
            return Observation(status, text=payload)
        if status != "ok":
            return Observation("error", error={"type": "", "text": str(payload), "where": "", "phase": "forward"})
        obs = Observation(
            "ok",
            value=payload.get("value"),
            value_kind=payload.get("value_kind", "number"),
            grads=payload.get("grads", {}),
            grad_kinds=payload.get("grads_kinds", {}),
            grads2=payload.get("grads2", {}),
            adjoints={bytes.fromhex(k): v for k, v in payload.get("adjoints", {}).items()},
            seconds=payload.get("seconds", 0.0),
            error=payload.get("error"),
            bad=payload.get("bad"),
            nodes=payload.get("nodes"),
        )
        if obs.error is not None:
            obs.status = "error"
        elif obs.bad is not None:
            obs.status = "bad"
        return obs

    # ---- the EngineAdapter interface, for the Checker and blame -----------------------------------------

    def run(self, expr: Expr, point: Mapping[str, float]) -> EngineRun:
        obs = self.observe(expr, point, ints=self.ints, adjoints=True, wrap=True)
        if not obs.numbers_ok():
            return EngineRun(error=obs.describe() if not obs.ok else _not_numbers(obs))
        return EngineRun(obs.value, {k: v for k, v in obs.grads.items() if v is not None}, obs.adjoints)

    def local_derivatives(self, op: str, params: tuple[float, ...], args: list[float]) -> list[float] | str:
        names = [f"a{i}" for i in range(len(args))]
        node = Apply(op, tuple(Var(n) for n in names), params)
        obs = self.observe(node, dict(zip(names, args, strict=True)))
        if not obs.numbers_ok():
            return obs.describe() if not obs.ok else _not_numbers(obs)
        return [float(obs.grads[n] or 0.0) for n in names]

    def grad_assigners(self) -> set[str]:
        """The ops whose source assigns an input's gradient (`self.grad = ...`) instead of adding to it."""
        status, payload = self.ask("grad_assigners")
        return set(payload) if status == "ok" else set()

    def warnings(self) -> dict[str, int]:
        status, payload = self.ask("warnings")
        return payload if status == "ok" else {}

    def close(self) -> None:
        self.child.close()


class _Failed(Exception):
    pass


def _phase(note: Any) -> str:
    return {"forward": " while building the expression", "backward": " in backward()"}.get(note, "")


def _not_numbers(obs: Observation) -> str:
    if obs.value_kind != "number":
        return f"the result's value is {obs.value_kind}, not a number"
    bad = {k: v for k, v in obs.grad_kinds.items() if v != "number"}
    if bad:
        return "; ".join(f"the gradient of {k} is {'None' if v == 'none' else 'not a number'}" for k, v in bad.items())
    return "a gradient is not finite: " + ", ".join(f"{k}={v!r}" for k, v in obs.grads.items())


def _unavailable(*args: Any) -> Any:
    raise RuntimeError("this engine runs in another process; use run() or observe()")
