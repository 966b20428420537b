"""Finished facts hold no empty list or set of their own (`function_facts._finished`): the same results, less memory."""

from __future__ import annotations

import pytest

from codemods import analyze, project_analysis
from codemods.function_facts import _CONTAINER_FIELDS, _SHARED_EMPTY
from codemods.model import EngineOptions
from tests.engine.test_released_trees import results
from tests.engine.trees import REPO, python_files


def test_finished_facts_share_their_empty_containers() -> None:
    analysis = project_analysis._analyse(python_files(REPO / "target_backend"), EngineOptions())
    facts = [fact for module in analysis.facts_by_path.values() for fact in module]
    assert facts
    empties = 0
    for fact in facts:
        for name in _CONTAINER_FIELDS:
            value = getattr(fact, name)
            assert value or value is _SHARED_EMPTY[list] or value is _SHARED_EMPTY[set], name
            empties += not value
    assert empties > len(facts) * len(_CONTAINER_FIELDS) / 2  # most are empty
    assert {"calls", "imports"} <= set(_CONTAINER_FIELDS)
    fact = next(fact for fact in facts if not fact.calls and not fact.imports)
    with pytest.raises(AttributeError):  # whatever would add to finished facts fails loudly
        fact.calls.append(None)  # type: ignore[arg-type]
    with pytest.raises(AttributeError):
        fact.imports.add(("m", "n"))


@pytest.mark.parametrize("project", ["target_backend", "generated"])
def test_finished_facts_change_no_result(
    project: str, generated: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = generated if project == "generated" else python_files(REPO / "target_backend")
    finished = results(sources, EngineOptions())
    monkeypatch.setattr(analyze, "_finished", lambda facts: facts)
    assert results(sources, EngineOptions()) == finished


def test_only_functions_with_a_nested_function_keep_their_locals_types() -> None:
    """A function's locals' types (`env`) serve the functions nested in it (closures): the others keep none."""
    sources = python_files(REPO / "fixtures/coloring/closure_over_session/before")
    analysis = project_analysis._analyse(sources, EngineOptions())
    assert analysis.project.enclosing_functions == {"clo.report.owners_report"}
    facts = {fact.qualname: fact for module in analysis.facts_by_path.values() for fact in module}
    assert set(facts["clo.report.owners_report"].env) == {"db"}
    assert facts["clo.report.owners_report.line"].seeds, "the closure does I/O on the enclosing session"
    assert not any(fact.env for name, fact in facts.items() if name != "clo.report.owners_report")
