"""Hostile input: deep nesting, huge literals, syntax errors, Python 2, syntax newer than 3.11.

One real run over all of them plus two ordinary service files: every hostile file is either handled
or reported on one line (`PATH: error: reason`), never a traceback; the ordinary files are migrated;
the exit code is 2 when something failed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rel_helpers import (
    TRACEBACK,
    assert_no_crash,
    awaitify,
    failed_paths,
    load_result,
    make_project,
    parses,
    run_once,
    save_result,
    shared_base,
)

SERVICE = "from sqlalchemy.orm import Session\n\n\ndef save(db: Session, obj):\n    db.add(obj)\n    db.commit()\n"


def _sqla(extra: str) -> str:
    return SERVICE + "\n\n" + extra


HOSTILE: dict[str, str | bytes] = {
    # nesting
    "nested_parens.py": _sqla("X = " + "(" * 150 + "1" + ")" * 150 + "\n"),
    "nested_parens_too_deep.py": _sqla("X = " + "(" * 1000 + "1" + ")" * 1000 + "\n"),
    "nested_lists.py": _sqla("X = " + "[" * 90 + "]" * 90 + "\n"),
    "long_binop_chain.py": _sqla("X = " + " + ".join(["1"] * 20_000) + "\n"),
    "long_attribute_chain.py": _sqla("X = db" + ".a" * 5_000 + "\n"),
    "deep_blocks.py": _sqla("".join("    " * i + f"if x{i}:\n" for i in range(95)) + "    " * 95 + "pass\n"),
    "nested_calls_in_session_code.py": SERVICE.replace("db.add(obj)", "db.add(" + "f(" * 120 + "obj" + ")" * 120 + ")"),
    # huge literals
    "huge_string.py": _sqla("S = '" + "x" * 1_000_000 + "'\n"),
    "huge_int.py": _sqla("N = " + "9" * 5_000 + "\n"),
    "huge_list.py": _sqla("L = [\n" + "".join(f"    {i},\n" for i in range(20_000)) + "]\n"),
    # syntax errors
    "syntax_error.py": _sqla("def broken(:\n    pass\n"),
    "unterminated_string.py": _sqla("S = 'never closed\n"),
    "bad_indent.py": _sqla("def f():\n  x = 1\n    y = 2\n"),
    "tabs_and_spaces.py": _sqla("def f():\n\tif x:\n        return 1\n"),
    "bad_cookie.py": b"# -*- coding: no-such-codec -*-\n" + SERVICE.encode(),
    "not_utf8.py": SERVICE.encode() + b"S = '\xff\xfe'\n",
    "only_garbage.py": "}}}}{{{{ ::: @@@ ???\n",
    # Python 2
    "py2_print.py": _sqla('print "hello"\n'),
    "py2_except.py": _sqla("try:\n    pass\nexcept Exception, e:\n    pass\n"),
    "py2_exec_backticks.py": _sqla("exec 'x = 1'\ny = `x`\n"),
    "py2_octal_ur.py": _sqla("MODE = 0777\nS = ur'raw'\n"),
    # newer than 3.11
    "pep695_type_alias.py": _sqla("type UserId = int\n"),
    "pep695_generic_def.py": _sqla("def first[T](xs: list[T]) -> T:\n    return xs[0]\n"),
    "pep695_generic_class_with_session.py": (
        "from sqlalchemy.orm import Session\n\n\nclass Repo[T]:\n"
        "    def save(self, db: Session, obj: T) -> T:\n        db.add(obj)\n        db.commit()\n        return obj\n"
    ),
    "pep701_fstring.py": _sqla('S = f"{"nested"}"\n'),
    "py314_except_without_parens.py": _sqla("try:\n    pass\nexcept ValueError, TypeError:\n    pass\n"),
    # odd but valid
    "empty.py": "",
    "only_comment.py": "# nothing here\n",
    "form_feed.py": _sqla("\x0c\nX = 1\n"),
    "no_newline_at_eof.py": SERVICE.rstrip("\n"),
    "crlf_mixed.py": SERVICE.replace("\n", "\r\n", 3),
    "lone_cr.py": "X = 1\rY = 2\r",
}
GOOD = {"app/good_a.py": SERVICE, "app/good_b.py": SERVICE.replace("save", "store")}


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory):
    """(root, result, report) of one run over every hostile file (once per session, shared by workers)."""

    def build(directory: Path) -> None:
        root = make_project(directory / "proj")
        files = {**GOOD, **{f"hostile/{name}": data for name, data in HOSTILE.items()}}
        for name, data in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        argv = ["migrate", "app", "hostile", "--allow-dirty", "--report", "report.json"]
        save_result(directory, awaitify(*argv, cwd=root, timeout=900))

    directory = run_once(shared_base(tmp_path_factory), "hostile", build)
    root = directory / "proj"
    report_path = root / "report.json"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else None
    return root, load_result(directory), report


def _bytes(name: str) -> bytes:
    data = HOSTILE[name]
    return data.encode("utf-8") if isinstance(data, str) else data


def test_run_finishes_without_traceback(hostile_run) -> None:
    _root, result, report = hostile_run
    assert_no_crash(result)
    assert result.code == 2, result
    assert report is not None


def test_good_files_are_migrated(hostile_run) -> None:
    root, _result, _report = hostile_run
    for name in GOOD:
        assert "await db.commit()" in (root / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_each_hostile_file(hostile_run, name: str) -> None:
    root, result, report = hostile_run
    key = f"hostile/{name}"
    entry = next(f for f in report["files"] if f["path"] == key)
    after = (root / key).read_bytes()
    before = _bytes(name)
    if entry["status"] == "failed":
        assert after == before
        message = entry["error"] or ""
        assert message and "\n" not in message and TRACEBACK not in message, message
        assert key in failed_paths(result)
    elif parses(before):
        assert parses(after), f"{key} no longer parses"
    else:
        pytest.fail(f"{key} does not parse on this Python but was reported {entry['status']}")


@pytest.mark.parametrize(
    "name",
    [n for n in sorted(HOSTILE) if n.split("_")[0] in ("syntax", "unterminated", "bad", "py2", "not")]
    + ["only_garbage.py"],
)
def test_broken_files_fail_with_a_located_reason(hostile_run, name: str) -> None:
    _root, _result, report = hostile_run
    entry = next(f for f in report["files"] if f["path"] == f"hostile/{name}")
    assert entry["status"] == "failed"
    assert any(word in entry["error"] for word in ("line", "encoding", "coding", "codec")), entry["error"]


@pytest.mark.parametrize("name", [n for n in sorted(HOSTILE) if n.startswith(("pep6", "py314"))])
def test_newer_syntax_is_named_as_such(hostile_run, name: str) -> None:
    _root, _result, report = hostile_run
    entry = next(f for f in report["files"] if f["path"] == f"hostile/{name}")
    assert entry["status"] == "failed"
    assert "newer" in entry["error"], entry["error"]


# ---- valid code the engine refuses -----------------------------------------------------------------

# Found by the site-packages slice (sqlalchemy/util/cython.py: `int = int`), fixed in ee5e161: these used
# to recurse forever in Project.global_value_type and fail as "expression nesting too deep".


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("int = int\n\n\ndef f():\n    x = int\n    return x\n", id="self-alias"),
        pytest.param(
            "from sqlalchemy.orm import Session\n\nA = B\nB = A\n\n\n"
            "def save(db: Session):\n    x = A\n    db.commit()\n",
            id="cycle-in-a-sqlalchemy-module",
        ),
    ],
)
def test_self_referencing_globals_are_analysed(text: str) -> None:
    from codemods.engine import migrate_sources
    from codemods.model import EngineOptions, FileStatus

    outcome = migrate_sources({"m.py": text}, EngineOptions())["m.py"]
    assert outcome.status is not FileStatus.FAILED, outcome.error


# ---- the per-file message must point at the problem --------------------------------------------

SERVICE_LINES = SERVICE.count("\n") + 2  # the hostile line comes right after SERVICE and two blank lines


def _engine_error(text: str) -> str:
    from codemods.engine import migrate_sources
    from codemods.model import EngineOptions, FileStatus

    outcome = migrate_sources({"m.py": text}, EngineOptions())["m.py"]
    assert outcome.status is FileStatus.FAILED
    return outcome.error or ""


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("S = 'never closed", id="unterminated-string"),
        pytest.param("y = `x`", id="py2-backticks"),
        pytest.param("MODE = 0777", id="py2-octal"),
    ],
)
def test_syntax_error_names_its_line(line: str) -> None:
    error = _engine_error(_sqla(line + "\n"))
    assert f"line {SERVICE_LINES + 1}" in error, error


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("N = " + "9" * 5_000, id="int-over-4300-digits"),
        pytest.param("X = " + "(" * 1000 + "1" + ")" * 1000, id="too-many-nested-parentheses"),
    ],
)
def test_limits_are_not_called_newer_syntax(line: str) -> None:
    error = _engine_error(_sqla(line + "\n"))
    assert "newer" not in error, error
