"""Every argument check of linbook goes through linbook.checks: one message style, and one
exception type per kind of mistake (TypeError: the wrong kind of object; ValueError: a value
of the right kind that is not allowed).

The test reads linbook's source with ``ast`` and fails on a hand-written ``raise ValueError`` or
``raise TypeError`` outside ``checks.py``. The few such raises that are not argument checks are
listed below, each with the reason it is not one.
"""

from __future__ import annotations

import ast
from pathlib import Path

LINBOOK = Path(__file__).resolve().parent.parent / "linbook"
CHECKED = ("ValueError", "TypeError")

#: (module, function) -> why its ValueError/TypeError is not an argument check.
NOT_ARGUMENT_CHECKS: dict[tuple[str, str], str] = {
    ("claims", "seed_offset"): "the value of an environment variable, not an argument",
    (
        "optimizers",
        "_ElementwiseOptimizer.step",
    ): "torch.optim's own error for a sparse gradient, not an argument",
    ("submission", "check_submission"): "the content of a file on disk, not an argument",
    ("timer", "Timer.avg"): "the timer's state: no interval recorded yet",
    ("train", "Accumulator.add"): "the number of values must match the accumulator's width "
    "(its state)",
    ("train", "History.best"): "the history's state: nothing recorded yet",
    ("train", "KeepBest.restore"): "the state: no epoch recorded yet",
}


def _raises(path: Path):
    """Yield (qualified function name, exception name, line) for each raise of CHECKED."""
    tree = ast.parse(path.read_text(encoding="utf-8"))

    def visit(node: ast.AST, scope: list[str]):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                yield from visit(child, [*scope, child.name])
                continue
            if isinstance(child, ast.Raise) and child.exc is not None:
                exc = child.exc.func if isinstance(child.exc, ast.Call) else child.exc
                if isinstance(exc, ast.Name) and exc.id in CHECKED:
                    yield ".".join(scope) or "<module>", exc.id, child.lineno
            yield from visit(child, scope)

    yield from visit(tree, [])


def _found() -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(LINBOOK.glob("*.py")):
        if path.name == "checks.py":
            continue
        for function, exc, line in _raises(path):
            found.setdefault((path.stem, function), []).append(f"{path.name}:{line} {exc}")
    return found


def test_no_hand_rolled_argument_check_outside_checks():
    allowed = NOT_ARGUMENT_CHECKS
    offenders = [
        f"{where} in {module}.{function}: use linbook.checks"
        for (module, function), places in _found().items()
        if (module, function) not in allowed
        for where in places
    ]
    assert offenders == [], "\n".join(offenders)


def test_the_allow_list_names_only_raises_that_exist():
    """An entry whose raise has gone (moved to checks, or renamed) is removed from the list."""
    found = _found()
    stale = [key for key in NOT_ARGUMENT_CHECKS if key not in found]
    assert stale == []


def test_the_detector_finds_a_hand_rolled_check(tmp_path):
    """The test above can fail: a module with a hand-written check is reported."""
    module = tmp_path / "m.py"
    module.write_text(
        "class A:\n"
        "    def f(self, n):\n"
        "        if n < 0:\n"
        "            raise ValueError('n must be >= 0')\n"
        "        raise TypeError\n"
    )
    assert list(_raises(module)) == [("A.f", "ValueError", 4), ("A.f", "TypeError", 5)]
