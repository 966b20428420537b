"""Whether a rewritten file is sound enough to write: it compiles (or LibCST parses it, for syntax newer than
this Python, when the original did not compile either)."""

from __future__ import annotations

import warnings


def verify_rewrite(old_text: str, new_text: str, filename: str) -> str | None:
    """None when the rewritten text is sound enough to write, else why not.

    A file that compiled before the rewrite must compile after it: the compiler also rejects what
    LibCST's grammar accepts (`await` in a plain `def`, `async with` outside `async def`). Compiling
    is fast, so LibCST parses only when the compiler cannot judge (syntax newer than this Python).
    """
    compile_failure = compile_error(new_text, filename)
    if compile_failure is None:
        return None
    grammar_failure = parse_error(new_text)
    if grammar_failure is not None:
        return f"rewrite does not parse: {grammar_failure}"
    if compile_error(old_text, filename) is None:
        return f"rewrite does not compile: {compile_failure}"
    return None


def parse_error(text: str) -> str | None:
    """None when LibCST parses the text (it reads syntax up to Python 3.14), else a one-line reason."""
    import libcst

    try:
        libcst.parse_module(text)
    except libcst.ParserSyntaxError as exc:
        return f"line {exc.raw_line}, column {exc.raw_column + 1}: {exc.message}"
    except (RecursionError, MemoryError) as exc:  # pathological nesting: report, do not crash
        return f"cannot parse: {type(exc).__name__}"
    return None


def compile_error(text: str, filename: str) -> str | None:
    """None when CPython compiles the text (catches `await` outside `async def` and the like)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarnings of the user's code are not ours to print
        try:
            compile(text, filename, "exec", dont_inherit=True)
        except SyntaxError as exc:
            return f"line {exc.lineno}: {exc.msg}"
        except (ValueError, RecursionError, MemoryError) as exc:
            return f"{type(exc).__name__}: {exc}"
    return None
