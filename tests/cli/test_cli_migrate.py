"""`awaitify migrate` mechanics, with the stand-in engine of fake_engine_main.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cli_helpers import snapshot, write_tree

from codemods.discover import NOT_FOLLOWED
from codemods.verify import verify_rewrite

SYNC = "import app\n\n\ndef handler():\n    return OLD_CALL(1)\n"
MIGRATED = "# migrated\nimport app\n\n\ndef handler():\n    return new_call(1)\n"


def test_rewrites_in_place(fake_awaitify, project: Path) -> None:
    write_tree(project, {"pkg/a.py": SYNC, "pkg/b.py": "x = 1\n"})
    result = fake_awaitify("migrate", ".", cwd=project)
    assert result.code == 0, result
    assert (project / "pkg/a.py").read_text() == MIGRATED
    assert (project / "pkg/b.py").read_text() == "x = 1\n"
    assert "changed" in result.stderr and "scanned" in result.stderr  # the summary table


def test_migrate_twice_is_migrate_once(fake_awaitify, project: Path) -> None:
    write_tree(project, {"a.py": SYNC})
    assert fake_awaitify("migrate", ".", cwd=project).code == 0
    once = snapshot(project)
    second = fake_awaitify("migrate", ".", cwd=project)
    assert second.code == 0, second
    assert snapshot(project) == once


def test_review_items_are_printed(fake_awaitify, project: Path) -> None:
    write_tree(project, {"pkg/a.py": "x = OLD_CALL(1)\ny = 2  # REVIEWME\n"})
    result = fake_awaitify("migrate", ".", cwd=project)
    assert result.code == 0, result
    # line 3 of the new text (the stand-in adds a first line); col is 1-based
    assert "pkg/a.py:3:10: AWT201 review this line" in result.stdout.splitlines()
    assert "AWT201" in result.stderr  # review items by rule in the summary


def test_review_items_can_be_suppressed(fake_awaitify, project: Path) -> None:
    write_tree(project, {"a.py": "y = 2  # REVIEWME  # awaitify: ignore[AWT201]\nz = 3  # REVIEWME\n"})
    result = fake_awaitify("migrate", "--diff", ".", cwd=project)
    lines = [line for line in result.stderr.splitlines() if "AWT201 review" in line]
    assert lines == ["a.py:2:10: AWT201 review this line"]


def test_diff_writes_nothing_and_exits_1(fake_awaitify, project: Path) -> None:
    write_tree(project, {"pkg/a.py": SYNC, "pkg/b.py": "x = 1\n", "pkg/c.py": "def broken(:\n"})
    before = snapshot(project)
    result = fake_awaitify("migrate", "--diff", "pkg/a.py", "pkg/b.py", cwd=project)
    assert result.code == 1, result
    assert snapshot(project) == before
    assert sorted(p.name for p in project.rglob("*")) == sorted(["pyproject.toml", "pkg", "a.py", "b.py", "c.py"])
    lines = result.stdout.splitlines()
    assert lines[:2] == ["--- a/pkg/a.py", "+++ b/pkg/a.py"]
    assert "-    return OLD_CALL(1)" in lines
    assert "+    return new_call(1)" in lines
    assert "+# migrated" in lines


def test_diff_without_changes_exits_0(fake_awaitify, project: Path) -> None:
    write_tree(project, {"a.py": "x = 1\n"})
    result = fake_awaitify("migrate", "--diff", ".", cwd=project)
    assert result.code == 0, result
    assert result.stdout == ""


def test_diff_marks_a_missing_final_newline(fake_awaitify, project: Path) -> None:
    write_tree(project, {"a.py": "x = OLD_CALL(1)"})
    result = fake_awaitify("migrate", "--diff", ".", cwd=project)
    assert result.code == 1, result
    assert "\\ No newline at end of file" in result.stdout


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad_syntax.py", b"def broken(:\n    pass\n", "syntax error"),
        ("latin.py", b"s = 'caf\xe9'\n", "coding cookie"),
        ("binary.py", b"\x00\x01\x02\x03ELF", "binary file"),
        ("wide.py", "x = 1\n".encode("utf-16"), "UTF-16 encoded (a byte order mark says so)"),
        ("wider.py", "x = 1\n".encode("utf-32"), "UTF-32 encoded"),
    ],
)
def test_bad_file_fails_alone(fake_awaitify, project: Path, name: str, content: bytes, message: str) -> None:
    write_tree(project, {"good.py": SYNC, name: content})
    result = fake_awaitify("migrate", ".", cwd=project)
    assert result.code == 2, result
    assert f"{name}: error:" in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert (project / "good.py").read_text() == MIGRATED  # the run went on
    assert (project / name).read_bytes() == content


def test_dangling_symlink_named_explicitly(fake_awaitify, project: Path) -> None:
    """Left out as every symlink named on the command line is (not followed), whatever it points to."""
    write_tree(project, {"good.py": SYNC})
    (project / "dangling.py").symlink_to(project / "gone.py")
    result = fake_awaitify("migrate", "dangling.py", "good.py", cwd=project)
    assert result.code == 2, result
    assert "dangling.py: error: a symlink, not followed" in result.stderr
    assert (project / "good.py").read_text() == MIGRATED


@pytest.mark.parametrize("name", ["report.json", "report.md", "report.html"])
def test_symlink_named_explicitly_is_a_failed_path_in_the_report(
    fake_awaitify, project: Path, tmp_path: Path, name: str
) -> None:
    """As a missing path is: a CI job reading the report learns that a path it named was left out."""
    write_tree(project, {"good.py": SYNC})
    (project / "link.py").symlink_to(project / "good.py")
    report = tmp_path / name
    result = fake_awaitify("migrate", "--diff", "--report", str(report), "link.py", "good.py", cwd=project)
    assert result.code == 2, result
    text = report.read_text(encoding="utf-8")
    if name.endswith(".json"):
        files = {f["path"]: (f["status"], f["error"]) for f in json.loads(text)["files"]}
        assert files["link.py"] == ("failed", NOT_FOLLOWED)
        assert json.loads(text)["summary"]["failed"] == 1
    elif name.endswith(".md"):
        assert f"- `link.py`: {NOT_FOLLOWED}" in text
    else:
        assert '<h3><code>link.py</code><span class="badge status-failed">failed</span></h3>' in text
        assert f'<p class="error">error: {NOT_FOLLOWED}</p>' in text


def test_missing_path(fake_awaitify, project: Path) -> None:
    write_tree(project, {"good.py": SYNC})
    result = fake_awaitify("migrate", "nope", "good.py", cwd=project)
    assert result.code == 2, result
    assert "nope: error: no such file or directory" in result.stderr
    assert (project / "good.py").read_text() == MIGRATED


def test_unparsable_rewrite_is_not_written(fake_awaitify, project: Path) -> None:
    write_tree(project, {"a.py": "x = OLD_CALL(1)  # BREAKME\n", "b.py": SYNC})
    result = fake_awaitify("migrate", ".", cwd=project)
    assert result.code == 2, result
    assert "a.py: error: rewrite does not parse" in result.stderr
    assert (project / "a.py").read_text() == "x = OLD_CALL(1)  # BREAKME\n"
    assert (project / "b.py").read_text() == MIGRATED


def test_rewrite_that_does_not_compile_is_not_written(fake_awaitify, project: Path) -> None:
    write_tree(project, {"a.py": "x = OLD_CALL(1)  # AWAITME\n", "b.py": SYNC})
    result = fake_awaitify("migrate", ".", cwd=project)
    assert result.code == 2, result
    assert "a.py: error: rewrite does not compile: line 5: 'await' outside async function" in result.stderr
    assert (project / "a.py").read_text() == "x = OLD_CALL(1)  # AWAITME\n"
    assert (project / "b.py").read_text() == MIGRATED


def test_file_that_never_compiled_is_not_held_to_it(fake_awaitify, project: Path) -> None:
    # top-level await (a notebook export, say): the compiler rejected it before any rewrite
    write_tree(project, {"a.py": "await OLD_CALL(1)\n"})
    result = fake_awaitify("migrate", ".", cwd=project)
    assert result.code == 0, result
    assert (project / "a.py").read_text() == "# migrated\nawait new_call(1)\n"


def test_unstable_rewrite_is_not_written(fake_awaitify, project: Path) -> None:
    write_tree(project, {"a.py": "x = 1  # FLIPFLOP\n", "b.py": SYNC})
    result = fake_awaitify("migrate", ".", cwd=project)
    assert result.code == 2, result
    assert "a.py: error: rewrite is not stable" in result.stderr
    assert (project / "a.py").read_text() == "x = 1  # FLIPFLOP\n"
    assert (project / "b.py").read_text() == MIGRATED


def test_crlf_bom_and_latin1_survive(fake_awaitify, project: Path) -> None:
    write_tree(
        project,
        {
            "crlf.py": b"x = OLD_CALL(1)\r\ny = 2\r\n",
            "bom.py": b"\xef\xbb\xbfs = '\xc3\xa9'\nx = OLD_CALL(1)\n",
            "latin.py": b"# coding: latin-1\ns = '\xe9'\nx = OLD_CALL(1)\n",
        },
    )
    result = fake_awaitify("migrate", ".", cwd=project)
    assert result.code == 0, result
    assert (project / "crlf.py").read_bytes() == b"# migrated\r\nx = new_call(1)\r\ny = 2\r\n"
    assert (project / "bom.py").read_bytes() == b"\xef\xbb\xbf# migrated\ns = '\xc3\xa9'\nx = new_call(1)\n"
    assert (project / "latin.py").read_bytes() == b"# migrated\n# coding: latin-1\ns = '\xe9'\nx = new_call(1)\n"


def test_no_temp_files_left_and_mode_kept(fake_awaitify, project: Path) -> None:
    write_tree(project, {"a.py": SYNC})
    os.chmod(project / "a.py", 0o755)
    assert fake_awaitify("migrate", ".", cwd=project).code == 0
    assert sorted(p.name for p in project.iterdir()) == ["a.py", "pyproject.toml"]
    assert (project / "a.py").stat().st_mode & 0o777 == 0o755


@pytest.mark.parametrize(
    ("name", "check"),
    [
        ("report.json", lambda text: json.loads(text)["summary"]["changed"] == 1),
        (
            "report.md",
            lambda text: text.startswith("# awaitify migrate report") and "| changed | 1 |" in text,
        ),
        ("report.txt", lambda text: "changed: 1" in text and "a.py: changed" in text),
    ],
)
def test_report_file_format_by_extension(fake_awaitify, project: Path, tmp_path: Path, name: str, check) -> None:
    write_tree(project, {"a.py": SYNC + "z = 1  # REVIEWME\n", "b.py": "x = 1\n"})
    report = tmp_path / name
    result = fake_awaitify("migrate", "--report", str(report), ".", cwd=project)
    assert result.code == 0, result
    text = report.read_text()
    assert check(text)
    assert "AWT201" in text


def test_json_report_lists_every_file(fake_awaitify, project: Path, tmp_path: Path) -> None:
    write_tree(project, {"a.py": SYNC, "b.py": "x = 1\n", "c.py": "def f(:\n"})
    report = tmp_path / "r.json"
    result = fake_awaitify("migrate", "--report", str(report), ".", cwd=project)
    assert result.code == 2, result
    document = json.loads(report.read_text())
    statuses = {entry["path"]: entry["status"] for entry in document["files"]}
    assert statuses == {"a.py": "changed", "b.py": "unchanged", "c.py": "failed"}
    assert document["summary"] | {"by_rule": None, "stats": None} == {
        "scanned": 3,
        "changed": 1,
        "unchanged": 1,
        "failed": 1,
        "review_items": 0,
        "by_rule": None,
        "stats": None,
        "written": True,
    }


def test_unwritable_report_is_an_error(fake_awaitify, project: Path) -> None:
    write_tree(project, {"a.py": "x = 1\n"})
    result = fake_awaitify("migrate", "--report", str(project / "no" / "such" / "dir.json"), ".", cwd=project)
    assert result.code == 2, result
    assert "cannot write report" in result.stderr


def _read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_options_reach_the_engine(fake_awaitify, project: Path, tmp_path: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.awaitify]\ndisable = ["AWT106"]\nsession-factories = ["app.db.make"]\nexclude = ["legacy"]\n'
    )
    write_tree(project, {"src/app/a.py": "x = 1\n", "src/app/legacy/old.py": "", "src/b.py": ""})
    log = tmp_path / "log.jsonl"
    result = fake_awaitify(
        "migrate",
        "--jobs",
        "3",
        "--disable",
        "AWT201",
        "--session-factory",
        "app.deps.get_db",
        "src",
        cwd=project,
        env={"FAKE_ENGINE_LOG": str(log)},
    )
    assert result.code == 0, result
    call = _read_log(log)[0]
    assert call == {
        "kind": "migrate",
        "keys": ["src/app/a.py", "src/b.py"],  # POSIX, relative to the project root, sorted
        "disabled_rules": ["AWT106", "AWT201"],
        "session_factories": ["app.db.make", "app.deps.get_db"],
        "jobs": 3,
    }


def test_jobs_default_to_all_cores(fake_awaitify, project: Path, tmp_path: Path) -> None:
    write_tree(project, {"a.py": "x = 1\n"})
    log = tmp_path / "log.jsonl"
    assert fake_awaitify("migrate", ".", cwd=project, env={"FAKE_ENGINE_LOG": str(log)}).code == 0
    assert _read_log(log)[0]["jobs"] == (os.cpu_count() or 1)


def test_jobs_up_to_four_per_core_reach_the_engine(fake_awaitify, project: Path, tmp_path: Path) -> None:
    """The most `--jobs` allows (4x the CPU count) is taken as given; one more is refused (test_cli_basics)."""
    write_tree(project, {"a.py": "x = 1\n"})
    log = tmp_path / "log.jsonl"
    most = 4 * (os.cpu_count() or 1)
    assert fake_awaitify("migrate", "--jobs", str(most), ".", cwd=project, env={"FAKE_ENGINE_LOG": str(log)}).code == 0
    assert _read_log(log)[0]["jobs"] == most


def test_cli_exclude_replaces_config_exclude(fake_awaitify, project: Path, tmp_path: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.awaitify]\nexclude = ["a.py"]\n')
    write_tree(project, {"a.py": "", "b.py": ""})
    log = tmp_path / "log.jsonl"
    result = fake_awaitify("migrate", "--exclude", "b.py", ".", cwd=project, env={"FAKE_ENGINE_LOG": str(log)})
    assert result.code == 0, result
    assert _read_log(log)[0]["keys"] == ["a.py"]


def test_invalid_config_exits_2(fake_awaitify, project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.awaitify]\ndisable = "AWT101"\n')
    write_tree(project, {"a.py": SYNC})
    result = fake_awaitify("migrate", ".", cwd=project)
    assert result.code == 2, result
    assert "disable must be a list of strings" in result.stderr
    assert (project / "a.py").read_text() == SYNC


def test_unknown_config_key_warns(fake_awaitify, project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.awaitify]\nexclud = ["x"]\n')
    write_tree(project, {"a.py": "x = 1\n"})
    result = fake_awaitify("migrate", ".", cwd=project)
    assert result.code == 0, result
    assert "unknown key 'exclud'" in result.stderr


# ---- dirty git trees --------------------------------------------------------------------------


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True, capture_output=True
    )


@pytest.fixture
def repo(project: Path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    write_tree(project, {"app/a.py": SYNC, "app/b.py": "x = 1\n"})
    git(project, "init", "-q")
    git(project, "add", ".")
    git(project, "commit", "-q", "-m", "init")
    return project


def test_dirty_tree_is_refused(fake_awaitify, repo: Path) -> None:
    (repo / "app/b.py").write_text("x = 2\n")
    (repo / "app/new.py").write_text("n = OLD_CALL(1)\n")
    result = fake_awaitify("migrate", "app", cwd=repo)
    assert result.code == 2, result
    assert "2 target file(s) have uncommitted changes" in result.stderr
    assert "  app/b.py" in result.stderr and "  app/new.py" in result.stderr
    assert "--allow-dirty" in result.stderr
    assert (repo / "app/a.py").read_text() == SYNC


def test_ignored_target_file_is_refused(fake_awaitify, repo: Path) -> None:
    """git status does not list an ignored file, and git cannot restore it: it is refused like an untracked one."""
    (repo / ".gitignore").write_text("local_*.py\n")
    git(repo, "add", ".gitignore")
    git(repo, "commit", "-q", "-m", "ignore")
    (repo / "app/local_db.py").write_text("n = OLD_CALL(1)\n")
    result = fake_awaitify("migrate", ".", cwd=repo)
    assert result.code == 2, result
    assert "1 target file(s) have uncommitted changes or are ignored by git" in result.stderr
    assert "  app/local_db.py (ignored by git)" in result.stderr
    assert (repo / "app/local_db.py").read_text() == "n = OLD_CALL(1)\n"
    assert (repo / "app/a.py").read_text() == SYNC
    allowed = fake_awaitify("migrate", "--allow-dirty", ".", cwd=repo)
    assert allowed.code == 0, allowed
    assert (repo / "app/local_db.py").read_text() == "# migrated\nn = new_call(1)\n"


def test_allow_dirty(fake_awaitify, repo: Path) -> None:
    (repo / "app/b.py").write_text("x = 2\n")
    result = fake_awaitify("migrate", "--allow-dirty", "app", cwd=repo)
    assert result.code == 0, result
    assert (repo / "app/a.py").read_text() == MIGRATED


def test_dry_run_and_check_ignore_dirt(fake_awaitify, repo: Path) -> None:
    (repo / "app/b.py").write_text("x = 2\n")
    assert fake_awaitify("migrate", "--diff", "app", cwd=repo).code == 1
    assert fake_awaitify("check", "app", cwd=repo).code == 0


def test_clean_repo_and_dirt_outside_the_targets(fake_awaitify, repo: Path) -> None:
    (repo / "README.md").write_text("changed\n")
    result = fake_awaitify("migrate", "app/a.py", cwd=repo)
    assert result.code == 0, result
    assert (repo / "app/a.py").read_text() == MIGRATED


def test_untouched_file_that_a_second_run_would_change_fails(fake_awaitify, project: Path) -> None:
    write_tree(project, {"a.py": SYNC, "b.py": "x = 1  # FOLLOWER\n"})
    result = fake_awaitify("migrate", ".", cwd=project)
    assert result.code == 2, result
    assert "b.py: error: not a fixed point" in result.stderr
    assert (project / "b.py").read_text() == "x = 1  # FOLLOWER\n"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param("x = 1\n", "x = 2\n", None, id="sound"),
        pytest.param("x = 1\n", "def f(:\n", "rewrite does not parse", id="grammar"),
        pytest.param("def f():\n    g()\n", "def f():\n    await g()\n", "rewrite does not compile", id="await-in-def"),
        pytest.param("await g()\n", "await h()\n", None, id="never-compiled"),
        pytest.param("x = 1\n", "x = (\n", "rewrite does not parse", id="unclosed"),
    ],
)
def test_verify_rewrite(old: str, new: str, expected: str | None) -> None:
    error = verify_rewrite(old, new, "m.py")
    assert (error if error is None else error.split(":")[0]) == expected


def test_diff_applies_with_git_apply(fake_awaitify, project: Path, tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    # a form feed is part of a line: the patch must carry it (a console print would drop it)
    paged = "import app\n\x0c\n\ndef h():\n    return OLD_CALL(3)\n"
    write_tree(project, {"pkg/a.py": SYNC, "pkg/b.py": "x = OLD_CALL(2)", "pkg/c.py": "y = 1\n", "pkg/d.py": paged})
    result = fake_awaitify("migrate", "--diff", ".", cwd=project)
    assert result.code == 1, result
    assert "\n \x0c\n" in result.stdout
    patch = tmp_path / "migration.patch"
    patch.write_text(result.stdout)
    subprocess.run(["git", "apply", str(patch)], cwd=project, check=True, capture_output=True)
    applied = snapshot(project)
    (project / "pkg/a.py").write_text(SYNC)
    (project / "pkg/b.py").write_text("x = OLD_CALL(2)")
    (project / "pkg/d.py").write_text(paged)
    assert fake_awaitify("migrate", ".", cwd=project).code == 0
    assert {k: v[0] for k, v in snapshot(project).items()} == {k: v[0] for k, v in applied.items()}


def test_diff_of_file_names_with_a_newline_or_a_tab_applies(fake_awaitify, project: Path, tmp_path: Path) -> None:
    """Such names are quoted as git quotes them: unquoted, a newline split the `+++ b/...` header in two."""
    if shutil.which("git") is None:
        pytest.skip("git not installed")
    names = ["pkg/new\nline.py", "pkg/tab\there.py", 'pkg/quote".py', "pkg/plain.py"]
    write_tree(project, dict.fromkeys(names, SYNC))
    result = fake_awaitify("migrate", "--diff", ".", cwd=project)
    assert result.code == 1, result
    assert '--- "a/pkg/new\\nline.py"\n+++ "b/pkg/new\\nline.py"\n' in result.stdout
    patch = tmp_path / "migration.patch"
    patch.write_text(result.stdout)
    subprocess.run(["git", "apply", str(patch)], cwd=project, check=True, capture_output=True)
    assert all((project / name).read_text() == MIGRATED for name in names)
