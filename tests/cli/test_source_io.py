"""source_io: decoding like Python, exact round-trips, atomic and guarded writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codemods import source_io
from codemods.source_io import (
    SourceError,
    StaleFileError,
    decode_source,
    encode_source,
    read_source,
    restore_newlines,
    write_source,
)


@pytest.mark.parametrize(
    ("data", "text", "encoding"),
    [
        pytest.param(b"x = 1\n", "x = 1\n", "utf-8", id="plain-utf8"),
        pytest.param(b"\xef\xbb\xbfx = '\xc3\xa9'\n", "x = 'é'\n", "utf-8-sig", id="utf8-bom"),
        pytest.param(
            b"# -*- coding: latin-1 -*-\nx = '\xe9'\n",
            "# -*- coding: latin-1 -*-\nx = 'é'\n",
            "iso-8859-1",
            id="latin1-cookie",
        ),
        pytest.param(
            b"#!/usr/bin/env python\n# coding=cp1252\ns = '\x80'\n",
            "#!/usr/bin/env python\n# coding=cp1252\ns = '€'\n",
            "cp1252",
            id="cookie-second-line",
        ),
        pytest.param(b"a = 1\r\nb = 2\r\n", "a = 1\r\nb = 2\r\n", "utf-8", id="crlf-kept"),
        pytest.param(b"", "", "utf-8", id="empty"),
    ],
)
def test_decode_source(data: bytes, text: str, encoding: str) -> None:
    assert decode_source(data) == (text, encoding)
    assert encode_source(text, encoding) == data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"x = '\xe9'\n", "coding cookie", id="latin1-without-cookie"),
        pytest.param(b"\x7fELF\x02\x01\x01\x00\x00\x00", "binary", id="binary"),
        pytest.param(b"# coding: klingon\nx = 1\n", "encoding", id="unknown-cookie"),
        pytest.param(b"\xef\xbb\xbf# coding: latin-1\nx = 1\n", "encoding", id="bom-contradicts-cookie"),
    ],
)
def test_decode_source_rejects(data: bytes, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        decode_source(data)


def test_undecodable_byte_is_located() -> None:
    with pytest.raises(SourceError, match="line 3"):
        decode_source(b"a = 1\nb = 2\nc = '\xff'\n")


def test_encode_source_rejects_unencodable_text() -> None:
    with pytest.raises(SourceError, match="cannot encode"):
        encode_source("s = '€'\n", "iso-8859-1")


@settings(deadline=None, max_examples=60)  # no timing in assertions: the machine may be busy
@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00")),
        max_size=8,
    ),
    st.sampled_from(["\n", "\r\n"]),
    st.sampled_from(["utf-8", "utf-8-sig"]),
)
def test_round_trip_is_byte_exact(lines: list[str], newline: str, encoding: str) -> None:
    text = "".join("# " + line + newline for line in lines)
    data = encode_source(text, encoding)
    assert decode_source(data) == (text, encoding)
    assert encode_source(*decode_source(data)) == data


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param("a\r\nb\r\n", "# x\na\r\nb\r\nc\n", "# x\r\na\r\nb\r\nc\r\n", id="crlf-file"),
        pytest.param("a\nb\n", "# x\na\nb\n", "# x\na\nb\n", id="lf-file"),
        pytest.param("a\r\nb\n", "# x\na\r\nb\n", "# x\na\r\nb\n", id="mixed-file-left-alone"),
        pytest.param("a", "b\nc", "b\nc", id="no-newline"),
    ],
)
def test_restore_newlines(old: str, new: str, expected: str) -> None:
    assert restore_newlines(old, new) == expected


def test_write_keeps_bom_crlf_encoding_and_mode(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_bytes(b"\xef\xbb\xbfa = 'caf\xc3\xa9'\r\nb = 2\r\n")
    path.chmod(0o750)
    source = read_source(path)
    write_source(source, "# new\n" + source.text)
    assert path.read_bytes() == b"\xef\xbb\xbf# new\r\na = 'caf\xc3\xa9'\r\nb = 2\r\n"
    assert path.stat().st_mode & 0o777 == 0o750


def test_write_keeps_latin1(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_bytes(b"# coding: latin-1\nx = '\xe9'\n")
    source = read_source(path)
    write_source(source, source.text.replace("x", "y"))
    assert path.read_bytes() == b"# coding: latin-1\ny = '\xe9'\n"


def test_write_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_bytes(b"a = 1\n")
    write_source(read_source(path), "a = 2\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.py"]
    assert path.read_bytes() == b"a = 2\n"


def test_failed_replace_keeps_original_and_removes_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.py"
    path.write_bytes(b"a = 1\n")
    source = read_source(path)

    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(source_io.os, "replace", refuse)
    with pytest.raises(SourceError, match="No space left"):
        write_source(source, "a = 2\n")
    assert path.read_bytes() == b"a = 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.py"]


def test_file_changed_since_read_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_bytes(b"a = 1\n")
    source = read_source(path)
    path.write_bytes(b"a = 10\n")  # someone else edits the file meanwhile (size differs)
    with pytest.raises(StaleFileError):
        write_source(source, "a = 2\n")
    assert path.read_bytes() == b"a = 10\n"


def test_same_size_edit_with_restored_mtime_is_still_noticed(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_bytes(b"a = 1\n")
    source = read_source(path)
    path.write_bytes(b"a = 9\n")
    os.utime(path, ns=(source.fingerprint.mtime_ns, source.fingerprint.mtime_ns))
    with pytest.raises(StaleFileError):
        write_source(source, "a = 2\n")
    assert path.read_bytes() == b"a = 9\n"


def test_write_through_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real.py"
    real.write_bytes(b"a = 1\n")
    link = tmp_path / "link.py"
    link.symlink_to(real)
    write_source(read_source(link), "a = 2\n")
    assert link.is_symlink()
    assert real.read_bytes() == b"a = 2\n"


@pytest.mark.parametrize("kind", ["directory", "dangling-symlink", "unreadable"])
def test_read_errors_are_source_errors(tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.py"
    if kind == "directory":
        path.mkdir()
    elif kind == "dangling-symlink":
        path.symlink_to(tmp_path / "gone.py")
    else:
        path.write_bytes(b"a = 1\n")

        def denied(*args: object) -> int:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(os, "open", denied)
    with pytest.raises(SourceError):
        read_source(path)


def test_owner_and_group_are_kept(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can create a file owned by someone else")
    path = tmp_path / "m.py"
    path.write_bytes(b"a = 1\n")
    os.chown(path, 65534, 65534)
    write_source(read_source(path), "a = 2\n")
    assert (path.stat().st_uid, path.stat().st_gid) == (65534, 65534)


def test_temp_file_creation_failure_is_a_source_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.py"
    path.write_bytes(b"a = 1\n")
    source = read_source(path)

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(source_io.tempfile, "mkstemp", refuse)
    with pytest.raises(SourceError, match="Permission denied"):
        write_source(source, "a = 2\n")
    assert path.read_bytes() == b"a = 1\n"
