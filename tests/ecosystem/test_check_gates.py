"""`check --format gitlab` (Code Quality report) and `check --baseline` / `--update-baseline`."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from eco_helpers import awaitify_here as awaitify
from eco_helpers import copy_shop

# The fields GitLab reads from a Code Quality report (docs: "Code Quality report format").
GITLAB_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "pattern": "^AWT[0-9]{3}$"},
            "fingerprint": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {
                    "path": {"type": "string"},
                    "lines": {
                        "type": "object",
                        "required": ["begin"],
                        "properties": {"begin": {"type": "integer", "minimum": 1}},
                    },
                },
            },
        },
    },
}


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return copy_shop(tmp_path / "shop")


def _gitlab(shop: Path) -> list[dict]:  # type: ignore[type-arg]
    result = awaitify("check", "--format", "gitlab", "app", cwd=shop)
    assert result.code == 1, result
    issues = json.loads(result.stdout)
    jsonschema.validate(issues, GITLAB_SCHEMA)
    return issues


def test_gitlab_code_quality_report(shop: Path) -> None:
    issues = _gitlab(shop)
    assert {i["check_name"] for i in issues} >= {"AWT301", "AWT303"}
    query = next(i for i in issues if i["check_name"] == "AWT301" and i["location"]["path"] == "app/db.py")
    assert query["location"]["lines"]["begin"] == 36
    assert query["severity"] == "major" and "query()" in query["description"]
    assert len({i["fingerprint"] for i in issues}) == len(issues)  # unique, as GitLab requires


def test_gitlab_fingerprints_survive_edits_elsewhere(shop: Path) -> None:
    before = {(i["location"]["path"], i["description"]): i["fingerprint"] for i in _gitlab(shop)}
    db = shop / "app" / "db.py"
    db.write_text('"""The shop\'s models."""\n\n\n' + db.read_text(encoding="utf-8"), encoding="utf-8")
    after = _gitlab(shop)
    moved = next(i for i in after if i["check_name"] == "AWT301" and i["location"]["path"] == "app/db.py")
    assert moved["location"]["lines"]["begin"] == 39
    assert {(i["location"]["path"], i["description"]): i["fingerprint"] for i in after} == before


def test_gitlab_report_is_an_empty_list_when_clean(shop: Path) -> None:
    assert awaitify("migrate", "-q", "app", cwd=shop).code == 0
    result = awaitify("check", "--format", "gitlab", "app", cwd=shop)
    assert (result.code, json.loads(result.stdout)) == (0, []), result


def test_baseline_fails_only_on_new_findings(shop: Path) -> None:
    baseline = shop / "awaitify-baseline.json"
    update = awaitify("check", "--baseline", baseline.name, "--update-baseline", "app", cwd=shop)
    assert update.code == 0, update
    document = json.loads(baseline.read_text(encoding="utf-8"))
    assert document["tool"] == "awaitify" and document["findings"]
    assert all("line" not in entry for entry in document["findings"])  # no line numbers in it

    known = awaitify("check", "--baseline", baseline.name, "app", cwd=shop)
    assert known.code == 0, known
    assert known.stdout == ""
    assert "known leftover(s) in the baseline" in known.stderr

    main = shop / "app" / "main.py"
    text = main.read_text(encoding="utf-8")
    # lines added above every finding (line numbers shift) and one new leftover at the end
    text = text.replace("app = FastAPI()\n", "app = FastAPI()\nVERSION = 2\n\n\n")
    text += "\n\ndef total_orders(db: Session) -> int:\n    return db.query(Order).count()\n"
    main.write_text(text, encoding="utf-8")
    new = awaitify("check", "--baseline", baseline.name, "app", cwd=shop)
    assert new.code == 1, new
    lines = new.stdout.splitlines()
    assert len(lines) == 1 and "AWT301" in lines[0] and lines[0].startswith("app/main.py:39:"), new


def test_baseline_counts_identical_lines(shop: Path) -> None:
    baseline = shop / "b.json"
    assert awaitify("check", "--baseline", "b.json", "--update-baseline", "app", cwd=shop).code == 0
    main = shop / "app" / "main.py"
    # the same leftover line once more, in another function: a second copy is new
    copy = "\n\n@app.get('/orders/count2')\ndef count_again(db: Session = Depends(get_db)):\n"
    copy += '    return {"count": db.query(Order).count()}\n'
    main.write_text(main.read_text(encoding="utf-8") + copy, encoding="utf-8")
    result = awaitify("check", "--baseline", str(baseline), "--format", "json", "app", cwd=shop)
    assert result.code == 1, result
    findings = json.loads(result.stdout)["findings"]
    assert [(f["code"], f["line"]) for f in findings] == [("AWT301", 37)]


def test_baseline_paths_do_not_depend_on_the_working_directory(shop: Path) -> None:
    assert awaitify("check", "--baseline", "b.json", "--update-baseline", "app", cwd=shop).code == 0
    result = awaitify("check", "--baseline", str(shop / "b.json"), ".", cwd=shop / "app")
    assert result.code == 0, result


def test_baseline_errors(shop: Path) -> None:
    missing = awaitify("check", "--baseline", "nope.json", "app", cwd=shop)
    assert missing.code == 2 and "--update-baseline" in missing.stderr, missing
    (shop / "bad.json").write_text("[1, 2]", encoding="utf-8")
    bad = awaitify("check", "--baseline", "bad.json", "app", cwd=shop)
    assert bad.code == 2 and "not an awaitify baseline" in bad.stderr, bad
    alone = awaitify("check", "--update-baseline", "app", cwd=shop)
    assert alone.code == 2 and "--baseline" in alone.stderr, alone
