"""Every error code raised anywhere is in the one table, `wyoming_kokoro.errors.ERRORS`: a code missing
from it reaches a client as a server fault (`synthesis-failed`, 500), whatever the request did wrong.

The source of both packages is read with `ast`: each `code = …` in a class body and each `code=…`
argument must be one of `Code`'s constants (the engine's `ErrorCode` and the server's), never a string
literal; and every constant must have its wire form in the table, with no key in the table that is not
a constant."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from wyoming_kokoro.errors import ERRORS, Code

ROOT = Path(__file__).resolve().parent.parent
NAMESPACES = {"Code", "ErrorCode"}  # wyoming_kokoro.errors.Code extends kokoro_engine.errors.ErrorCode


def constants() -> dict[str, str]:
    return {name: getattr(Code, name) for name in dir(Code) if name.isupper()}


def code_expressions() -> Iterator[tuple[str, ast.expr]]:
    """(file:line, expression) of every `code = …` in a class body and every `code=…` argument."""
    for package in ("kokoro_engine", "wyoming_kokoro"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                found: list[ast.expr] = []
                if isinstance(node, ast.ClassDef):
                    for stmt in node.body:
                        if isinstance(stmt, ast.Assign) and any(
                                isinstance(t, ast.Name) and t.id == "code" for t in stmt.targets):
                            found.append(stmt.value)
                        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) \
                                and stmt.target.id == "code" and stmt.value is not None:
                            found.append(stmt.value)
                elif isinstance(node, ast.Call):
                    found += [kw.value for kw in node.keywords if kw.arg == "code"]
                for value in found:
                    yield f"{path.relative_to(ROOT)}:{value.lineno}", value


def resolve(where: str, value: ast.expr) -> list[str]:
    """The codes an expression can be: a constant's value; [] for a value passed on (a parameter, a
    call's result). A string literal is refused: it is how a misspelt code would slip through."""
    if isinstance(value, ast.IfExp):
        return resolve(where, value.body) + resolve(where, value.orelse)
    if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) and value.value.id in NAMESPACES:
        assert value.attr in constants(), f"{where}: {value.value.id}.{value.attr} is not a code"
        return [constants()[value.attr]]
    if isinstance(value, ast.Name | ast.Call | ast.Constant) and not (
            isinstance(value, ast.Constant) and isinstance(value.value, str)):
        return []  # a parameter passed on, a function's answer, or None (the class's own code)
    raise AssertionError(f"{where}: a code must be a constant of Code/ErrorCode, not {ast.unparse(value)}")


def test_every_code_raised_is_in_the_error_table() -> None:
    raised: dict[str, str] = {}
    for where, value in code_expressions():
        for code in resolve(where, value):
            raised.setdefault(code, where)
    missing = {code: where for code, where in raised.items() if code not in ERRORS}
    assert not missing, f"codes raised but not in errors.ERRORS (they would be a 500): {missing}"
    # the scan found the codes it should: the engine's, the server's, and the instance-level ones
    assert {"nothing-to-speak", "voice-unusable", "busy", "too-many-requests", "text-too-long"} <= set(raised)
    assert set(constants().values()) == set(ERRORS), "every constant has a wire form, and only they do"
