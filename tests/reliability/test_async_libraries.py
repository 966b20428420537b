"""Libraries that are already async (starlette, fastapi, anyio) beside SQLAlchemy come out byte-identical.

Their async generators and async context managers are used in every legal way (`aclosing(gen())`,
handed as arguments, stored then entered): none of it was made async by this migration, so none of it
may get a review marker. The whole-corpus run (`make corpus-check`) found this; the random slice in
test_corpus_slice.py did not contain these packages.
"""

from __future__ import annotations

import pytest
from rel_helpers import (
    SITE_PACKAGES,
    assert_no_crash,
    awaitify,
    copy_files,
    make_project,
    mentions_sqlalchemy,
    site_packages_files,
    tree_bytes,
)

PACKAGES = ("starlette/", "fastapi/", "anyio/", "sqlalchemy/ext/asyncio/")


@pytest.fixture(scope="module")
def async_libraries(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], dict[str, bytes]]:
    files = [rel for rel in site_packages_files() if rel.startswith(PACKAGES)]
    root = make_project(tmp_path_factory.mktemp("async-libs") / "proj")
    copy_files(files, SITE_PACKAGES, root / "corpus")
    assert_no_crash(awaitify("migrate", "corpus", "--allow-dirty", "-q", "--jobs", "2", cwd=root))
    before = {rel: (SITE_PACKAGES / rel).read_bytes() for rel in files}
    return before, tree_bytes(root / "corpus")


def test_the_packages_are_there(async_libraries) -> None:
    before, _after = async_libraries
    for package in PACKAGES:
        assert any(rel.startswith(package) for rel in before), package


def test_async_code_that_does_not_use_sqlalchemy_is_byte_identical(async_libraries) -> None:
    before, after = async_libraries
    changed = sorted(
        rel for rel, data in before.items() if not mentions_sqlalchemy(rel, data) and after.get(rel) != data
    )
    assert changed == []
