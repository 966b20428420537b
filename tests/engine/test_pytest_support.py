"""The project's own tests: pytest-asyncio configuration, fixture visibility, TestClient rewrites and flags.

The whole-project proof (a suite migrated and run by pytest on SQLite and PostgreSQL) is the `pytest_suite`
coloring case; these pin the decisions around it on small projects.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from codemods.engine import migrate_sources
from codemods.model import EngineOptions, PytestAsyncioSettings
from codemods.pytest_config import load_pytest_asyncio_settings
from codemods.runner import RunOptions, prepare

DB = """\
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker(bind=create_engine("sqlite://"))
"""
CONFTEST = """\
import pytest

from app.db import SessionLocal


@pytest.fixture(scope="module")
def db():
    with SessionLocal() as session:
        yield session
"""
TEST_USES_DB = """\
def test_one(db):
    assert db.get(int, 1) is None
"""


def _migrate(files: dict[str, str], settings: PytestAsyncioSettings | None = None) -> dict[str, str]:
    options = EngineOptions(pytest_asyncio=settings or PytestAsyncioSettings())
    outcomes = migrate_sources({"app/__init__.py": "", "app/db.py": DB, **files}, options)
    assert all(o.error is None for o in outcomes.values()), {p: o.error for p, o in outcomes.items()}
    return {path: outcome.new_text for path, outcome in outcomes.items()}


# ---- configuration -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pytest.ini", "[pytest]\nasyncio_mode = auto\nasyncio_default_test_loop_scope = session\n"),
        (
            "pyproject.toml",
            '[tool.pytest.ini_options]\nasyncio_mode = "auto"\nasyncio_default_test_loop_scope = "session"\n',
        ),
        ("tox.ini", "[pytest]\nasyncio_mode = auto\nasyncio_default_test_loop_scope = session\n"),
        ("setup.cfg", "[tool:pytest]\nasyncio_mode = auto\nasyncio_default_test_loop_scope = session\n"),
    ],
)
def test_settings_are_read_from_every_pytest_configuration_file(name: str, text: str, tmp_path: Path) -> None:
    (tmp_path / name).write_text(text)
    assert load_pytest_asyncio_settings(tmp_path) == PytestAsyncioSettings(auto_mode=True, test_loop_scope="session")


def test_pytest_ini_wins_like_it_does_for_pytest(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.pytest.ini_options]\nasyncio_mode = "auto"\n')
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -q\n")
    assert load_pytest_asyncio_settings(tmp_path) == PytestAsyncioSettings()


def test_a_project_without_pytest_configuration_is_strict_mode(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert load_pytest_asyncio_settings(tmp_path) == PytestAsyncioSettings()


def test_the_command_line_run_hands_the_projects_settings_to_the_engine(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\nasyncio_mode = "auto"\nasyncio_default_fixture_loop_scope = "session"\n'
    )
    (tmp_path / "mod.py").write_text("x = 1\n")
    workspace = prepare(RunOptions(paths=(tmp_path,)), cwd=tmp_path)
    assert workspace.engine_options.pytest_asyncio == PytestAsyncioSettings(
        auto_mode=True, fixture_loop_scope="session"
    )


# ---- marks and loop scopes -----------------------------------------------------------------------------


def test_strict_mode_marks_tests_and_gives_fixtures_the_session_loop() -> None:
    out = _migrate({"tests/conftest.py": CONFTEST, "tests/test_db.py": TEST_USES_DB})
    assert '@pytest_asyncio.fixture(scope="module", loop_scope="session")\nasync def db():' in out["tests/conftest.py"]
    assert "    async with SessionLocal() as session:" in out["tests/conftest.py"]
    assert out["tests/test_db.py"] == (
        "import pytest\n\n\n"
        '@pytest.mark.asyncio(loop_scope="session")\n'
        "async def test_one(db):\n"
        "    assert await db.get(int, 1) is None\n"
    )


def test_auto_mode_with_function_loops_still_needs_the_marks_loop_scope() -> None:
    out = _migrate({"tests/conftest.py": CONFTEST, "tests/test_db.py": TEST_USES_DB}, PytestAsyncioSettings(True))
    assert '@pytest.mark.asyncio(loop_scope="session")' in out["tests/test_db.py"]


def test_configured_session_loops_need_neither_mark_nor_loop_scope() -> None:
    settings = PytestAsyncioSettings(auto_mode=True, test_loop_scope="session", fixture_loop_scope="session")
    out = _migrate({"tests/conftest.py": CONFTEST, "tests/test_db.py": TEST_USES_DB}, settings)
    assert '@pytest_asyncio.fixture(scope="module")\nasync def db():' in out["tests/conftest.py"]
    assert out["tests/test_db.py"] == "async def test_one(db):\n    assert await db.get(int, 1) is None\n"


# ---- which fixture a parameter names -------------------------------------------------------------------


def test_a_conftest_fixture_is_not_visible_from_a_sibling_package() -> None:
    out = _migrate(
        {
            "tests/__init__.py": "",
            "tests/conftest.py": CONFTEST,
            "other/__init__.py": "",
            "other/test_db.py": TEST_USES_DB,
        }
    )
    assert out["other/test_db.py"] == TEST_USES_DB  # `db` is no fixture there: an unknown value, left alone


def test_the_nearest_fixture_wins() -> None:
    shadowing = 'import pytest\n\n\n@pytest.fixture\ndef db():\n    return "not a session"\n\n\n' + TEST_USES_DB
    out = _migrate({"tests/conftest.py": CONFTEST, "tests/test_db.py": shadowing})
    assert out["tests/test_db.py"] == shadowing


def test_a_test_without_database_work_stays_sync() -> None:
    text = "def test_two(db):\n    assert db is not None\n"
    out = _migrate({"tests/conftest.py": CONFTEST, "tests/test_two.py": text})
    assert out["tests/test_two.py"] == text


# ---- TestClient ----------------------------------------------------------------------------------------

APP = """\
from fastapi import Depends, FastAPI
from sqlalchemy.orm import Session

from app.db import SessionLocal

app = FastAPI()


def get_db():
    with SessionLocal() as db:
        yield db


@app.get("/n")
def n(db: Session = Depends(get_db)):
    return {"n": db.get(int, 1)}
"""
CLIENT_FIXTURE = """\
import pytest
from fastapi.testclient import TestClient

from app.main import app


@pytest.fixture
def client():
    return TestClient(app, raise_server_exceptions=False, base_url="http://example.org")
"""


def test_a_returned_test_client_becomes_an_async_client_with_its_arguments_mapped() -> None:
    out = _migrate(
        {
            "app/main.py": APP,
            "tests/conftest.py": CLIENT_FIXTURE,
            "tests/test_n.py": 'def test_n(client):\n    assert client.get("/n").status_code == 200\n',
        }
    )
    assert out["tests/conftest.py"] == (
        "import httpx\nimport pytest\n\nfrom app.main import app\n\n\n@pytest.fixture\ndef client():\n"
        "    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False, "
        'client=("testclient", 50000)), base_url="http://example.org", headers={"user-agent": "testclient"}, '
        "follow_redirects=True)\n"
    )
    assert '    assert (await client.get("/n")).status_code == 200\n' in out["tests/test_n.py"]


def test_a_client_entered_in_an_app_with_startup_handlers_is_flagged_and_its_tests_stay_sync() -> None:
    app = APP + '\n\n@app.on_event("startup")\ndef warm_up():\n    pass\n'
    fixture = CLIENT_FIXTURE.replace(
        '    return TestClient(app, raise_server_exceptions=False, base_url="http://example.org")\n',
        "    with TestClient(app) as test_client:\n        yield test_client\n",
    )
    test = 'def test_n(client):\n    assert client.get("/n").status_code == 200\n'
    out = _migrate({"app/main.py": app, "tests/conftest.py": fixture, "tests/test_n.py": test})
    assert (
        "with TestClient(app) as test_client:  # awaitify: review AWT214 TestClient entered with `with` runs"
        in (out["tests/conftest.py"])
    )
    assert out["tests/test_n.py"] == test


def test_a_test_client_outside_test_modules_is_flagged() -> None:
    helper = "from fastapi.testclient import TestClient\n\nfrom app.main import app\n\nclient = TestClient(app)\n"
    out = _migrate({"app/main.py": APP, "app/smoke.py": helper})
    assert (
        "client = TestClient(app)  # awaitify: review AWT214 TestClient outside a pytest test module"
        in (out["app/smoke.py"])
    )


def test_websocket_tests_keep_the_test_client_flagged() -> None:
    test = 'def test_ws(client):\n    with client.websocket_connect("/ws") as ws:\n        ws.send_text("x")\n'
    out = _migrate({"app/main.py": APP, "tests/conftest.py": CLIENT_FIXTURE, "tests/test_ws.py": test})
    assert "# awaitify: review AWT214 the tests open websockets through TestClient" in out["tests/conftest.py"]
    assert out["tests/test_ws.py"] == test


def test_streaming_tests_keep_the_test_client_flagged() -> None:
    test = 'def test_stream(client):\n    with client.stream("GET", "/") as response:\n        assert response.read()\n'
    out = _migrate({"app/main.py": APP, "tests/conftest.py": CLIENT_FIXTURE, "tests/test_stream.py": test})
    assert "# awaitify: review AWT214 the tests stream responses (`.stream(...)`)" in out["tests/conftest.py"]
    assert out["tests/test_stream.py"] == test


# ---- app.dependency_overrides --------------------------------------------------------------------------


def test_an_override_awaitify_cannot_follow_is_flagged_when_the_dependency_became_async() -> None:
    test = (
        "from app.main import app, get_db\n\n\n"
        "def test_override(overrides):\n"
        "    app.dependency_overrides[get_db] = overrides['db']\n"
    )
    out = _migrate({"app/main.py": APP, "tests/test_override.py": test})
    assert (
        "    app.dependency_overrides[get_db] = overrides['db']  # awaitify: review AWT213 overrides "
        "get_db(), which became async: check that this override hands out an AsyncSession"
    ) in out["tests/test_override.py"]


def test_an_override_made_by_a_factory_takes_the_color_of_the_dependency() -> None:
    # the factory returns a function it defines: followed like an override function named directly
    test = (
        "from app.main import app, get_db\n\n\n"
        "def make_override(factory):\n"
        "    def override():\n"
        "        yield factory()\n\n"
        "    return override\n\n\n"
        "def test_override(session_factory):\n"
        "    app.dependency_overrides[get_db] = make_override(session_factory)\n"
    )
    out = _migrate({"app/main.py": APP, "tests/test_override.py": test})["tests/test_override.py"]
    assert "    async def override():\n" in out
    assert "    app.dependency_overrides[get_db] = make_override(session_factory)\n" in out


def test_an_override_function_takes_the_color_of_the_dependency() -> None:
    test = (
        "from app.db import SessionLocal\n"
        "from app.main import app, get_db\n\n\n"
        "def fake_db():\n"
        "    yield SessionLocal.kw['bind']\n\n\n"
        "def install():\n"
        "    app.dependency_overrides[get_db] = fake_db\n"
    )
    out = _migrate({"app/main.py": APP, "tests/test_override.py": test})
    assert "async def fake_db():\n" in out["tests/test_override.py"]
    assert "def install():\n    app.dependency_overrides[get_db] = fake_db\n" in out["tests/test_override.py"]
