"""docs/rules.md is generated from the rule registry and must be up to date."""

from __future__ import annotations

import re
from pathlib import Path

from eco_helpers import REPO, awaitify

from codemods.report import rules_markdown
from codemods.rules.registry import RULES

RULES_DOC = REPO / "docs" / "rules.md"
REGENERATE = "python -m codemods rules --format markdown > docs/rules.md"


def test_rules_doc_is_up_to_date() -> None:
    assert RULES_DOC.read_text(encoding="utf-8") == rules_markdown(list(RULES.values())), (
        f"docs/rules.md is stale: run `{REGENERATE}`"
    )


def test_the_documented_command_regenerates_it(tmp_path: Path) -> None:
    result = awaitify("rules", "--format", "markdown", cwd=tmp_path)
    assert result.code == 0, result
    assert result.stdout == RULES_DOC.read_text(encoding="utf-8")
    assert REGENERATE in result.stdout  # the page says how it is made


def test_every_rule_has_an_anchor_and_its_docs() -> None:
    text = RULES_DOC.read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## (AWT\d{3})\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S))
    assert sorted(sections) == sorted(RULES)
    for code, rule in RULES.items():
        body = sections[code]
        assert f"**{rule.name}** ({rule.kind.value})" in body
        assert rule.summary in body and rule.why in body
        if rule.before:
            assert f"```python\n{rule.before}\n```" in body
        assert f"[{code}](#{code.lower()})" in text  # the index links to the section


def test_explain_prints_the_same_rule_text(tmp_path: Path) -> None:
    rule = RULES["AWT301"]
    result = awaitify("explain", "awt301", cwd=tmp_path)
    assert result.code == 0, result
    for part in (rule.code, rule.name, rule.summary, rule.why):
        assert part in result.stdout
