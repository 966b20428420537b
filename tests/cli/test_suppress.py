"""suppress: `# awaitify: ignore[...]` comments."""

from __future__ import annotations

import pytest

from codemods.model import Finding
from codemods.suppress import apply_suppressions


def f(line: int, code: str = "AWT301") -> Finding:
    return Finding("m.py", line, 1, code, "msg")


@pytest.mark.parametrize(
    ("comment", "kept_codes"),
    [
        pytest.param("# awaitify: ignore", [], id="bare"),
        pytest.param("# awaitify: ignore[AWT301]", ["AWT302"], id="one-code"),
        pytest.param("# awaitify: ignore[awt301, AWT302]", [], id="two-codes-lowercase"),
        pytest.param("#awaitify:ignore[AWT302]", ["AWT301"], id="no-spaces"),
        pytest.param("# noqa: E501  # awaitify: ignore[AWT302]", ["AWT301"], id="after-other-comment"),
        pytest.param("# awaitify: ignored", ["AWT301", "AWT302"], id="not-the-keyword"),
        pytest.param("# awaitify: review AWT301", ["AWT301", "AWT302"], id="review-marker-is-not-ignore"),
    ],
)
def test_comment_forms(comment: str, kept_codes: list[str]) -> None:
    text = f"x = db.query(A).all()  {comment}\n"
    kept = apply_suppressions(text, [f(1, "AWT301"), f(1, "AWT302")])
    assert [k.code for k in kept] == kept_codes


def test_only_the_commented_line() -> None:
    text = "a = 1  # awaitify: ignore\nb = 2\n"
    assert apply_suppressions(text, [f(1), f(2)]) == [f(2)]


def test_text_inside_a_string_is_not_a_comment() -> None:
    text = 'x = "# awaitify: ignore"\n'
    assert apply_suppressions(text, [f(1)]) == [f(1)]


def test_untokenizable_text_falls_back_to_lines() -> None:
    text = "def f(:\n    x = '''\n  # awaitify: ignore[AWT301]\n"
    assert apply_suppressions(text, [f(3), f(1)]) == [f(1)]


def test_crlf_line_numbers() -> None:
    text = "a = 1\r\nb = 2  # awaitify: ignore\r\nc = 3\r\n"
    assert apply_suppressions(text, [f(1), f(2), f(3)]) == [f(1), f(3)]
