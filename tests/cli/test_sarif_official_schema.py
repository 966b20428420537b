"""Our SARIF against the official 2.1.0 schema: it validates, and the schema does reject broken documents."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
from cli_helpers import OFFICIAL_SARIF_SCHEMA

from codemods.model import Finding
from codemods.report import CheckReport, check_sarif

OFFICIAL = json.loads(OFFICIAL_SARIF_SCHEMA.read_text(encoding="utf-8"))


def _document() -> dict[str, object]:
    findings = [Finding("app/service.py", 12, 5, "AWT301", "`db.query()`: AsyncSession has no query()")]
    return json.loads(check_sarif(CheckReport(scanned=1, findings=findings, failures={})))


def test_our_sarif_is_valid_against_the_official_schema() -> None:
    jsonschema.Draft4Validator(OFFICIAL).validate(_document())


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d.pop("version"),
        lambda d: d.__setitem__("version", "2.0.0"),
        lambda d: d["runs"][0].pop("tool"),
        lambda d: d["runs"][0]["results"][0].pop("message"),
        lambda d: d["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"].__setitem__("startLine", 0),
    ],
    ids=["no-version", "wrong-version", "no-tool", "no-message", "line-zero"],
)
def test_the_official_schema_rejects_broken_documents(breakage) -> None:
    document = copy.deepcopy(_document())
    breakage(document)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(OFFICIAL).validate(document)
