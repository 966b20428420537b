"""The migration plan's checklist (shared/seed/migration-plan.fr.md), ticked off against the converted tree.

Every service method and router endpoint the plan names must be `async def` after `awaitify migrate`, every
service the plan says was already async must be untouched, and no `Session`/`query()` may remain.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from codemods.engine import migrate_sources
from codemods.model import EngineOptions

REPO = Path(__file__).resolve().parents[2]
BACKEND = REPO / "target_backend"
SERVICES = "backend/api/services"
ROUTERS = "backend/api/routers"

# Phase 1-4 of the plan: the methods to migrate, per service ("Méthodes à migrer").
PLAN_SERVICE_METHODS = {
    "track_service.py": ["_create_tracks_batch_optimized", "_update_tracks_batch_optimized", "search_tracks"],
    "genres_service.py": ["search_genres", "create_genre", "read_genres", "read_genre", "update_genre", "delete_genre"],
    "tags_service.py": [
        "get_genre_tags",
        "get_mood_tags",
        "get_genre_tag",
        "get_mood_tag",
        "create_genre_tag",
        "create_mood_tag",
    ],
    "search_service.py": [
        "search",
        "_text_search",
        "_vector_search",
        "_get_facets",
        "_get_facets_fallback",
        "typeahead_search",
    ],
    "scan_service.py": ["launch_scan"],
    "playqueue_service.py": ["get_queue", "add_track", "remove_track", "move_track", "clear_queue"],
    "settings_service.py": ["create_setting", "read_settings", "read_setting", "update_setting"],
    "artist_similar_service.py": [
        "create_similar_relationship",
        "get_similar_artists",
        "get_similar_artists_with_details",
        "update_similar_relationship",
        "delete_similar_relationship",
        "get_all_relationships_paginated",
        "find_similar_artists_by_name",
        "get_relationship_by_ids",
    ],
    "artist_embedding_service.py": [
        "create_embedding",
        "get_embedding_by_artist",
        "update_embedding",
        "get_all_embeddings",
        "get_embeddings_by_cluster",
        "delete_embedding",
        "train_gmm",
        "_save_gmm_model",
        "get_similar_artists",
        "generate_artist_embeddings",
        "_aggregate_track_embeddings",
        "find_similar_artists_vector",
        "get_cluster_info",
    ],
}
# "Déjà statique, pas de changement"
PLAN_STATIC_METHODS = {
    "search_service.py": ["_combine_results"],
    "scan_service.py": ["convert_path_to_docker", "validate_base_directory"],
    "settings_service.py": ["get_path_variables", "validate_template"],
}
ALREADY_ASYNC_SERVICES = ["artist_service.py", "album_service.py", "covers_service.py"]
PLAN_ROUTERS = [
    "tracks_api.py",
    "artists_api.py",
    "albums_api.py",
    "genres_api.py",
    "tags_api.py",
    "scan_api.py",
    "search_api.py",
    "playqueue_api.py",
    "settings_api.py",
    "artist_embeddings_api.py",
    "artist_similar_api.py",
]


@pytest.fixture(scope="module")
def converted() -> dict[str, str]:
    sources = {p.relative_to(BACKEND).as_posix(): p.read_text(encoding="utf-8") for p in BACKEND.rglob("*.py")}
    return {path: outcome.new_text for path, outcome in migrate_sources(sources, EngineOptions()).items()}


def _functions(text: str) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    return {n.name: n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


@pytest.mark.parametrize(("service", "methods"), sorted(PLAN_SERVICE_METHODS.items()))
def test_plan_service_methods_are_async(service: str, methods: list[str], converted: dict[str, str]) -> None:
    functions = _functions(converted[f"{SERVICES}/{service}"])
    missing = [m for m in methods if m not in functions]
    assert missing == [], f"{service}: the plan names methods the backend does not have"
    still_sync = [m for m in methods if not isinstance(functions[m], ast.AsyncFunctionDef)]
    assert still_sync == []


@pytest.mark.parametrize(("service", "methods"), sorted(PLAN_STATIC_METHODS.items()))
def test_plan_static_methods_stay_sync(service: str, methods: list[str], converted: dict[str, str]) -> None:
    functions = _functions(converted[f"{SERVICES}/{service}"])
    assert [m for m in methods if not isinstance(functions[m], ast.FunctionDef)] == []


@pytest.mark.parametrize("service", ALREADY_ASYNC_SERVICES)
def test_already_async_services_keep_their_code(service: str, converted: dict[str, str]) -> None:
    original = (BACKEND / SERVICES / service).read_text(encoding="utf-8")
    changed = [
        line
        for line in converted[f"{SERVICES}/{service}"].splitlines()
        if line not in original.splitlines() and "# awaitify: review" not in line
    ]
    assert changed == []


def _takes_a_session(endpoint: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A parameter typed with a session alias (`DbSession`, `SessionDep`, `AsyncSession`) or `Depends(get_db)`."""
    params = [*endpoint.args.args, *endpoint.args.kwonlyargs]
    defaults = [*endpoint.args.defaults, *(d for d in endpoint.args.kw_defaults if d is not None)]
    return any(p.annotation is not None and "Session" in ast.unparse(p.annotation) for p in params) or any(
        "get_db" in ast.unparse(d) for d in defaults
    )


@pytest.mark.parametrize("router", PLAN_ROUTERS)
def test_plan_router_endpoints_are_async_and_await(router: str, converted: dict[str, str]) -> None:
    tree = ast.parse(converted[f"{ROUTERS}/{router}"])
    endpoints = [
        n
        for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        and any(
            isinstance(d, ast.Call)
            and isinstance(d.func, ast.Attribute)
            and d.func.attr in {"get", "post", "put", "patch", "delete"}
            for d in n.decorator_list
        )
    ]
    assert endpoints, f"{router} has no endpoints"
    # An endpoint without database work (no session parameter) rightly stays `def`: it awaits nothing.
    with_session = [e for e in endpoints if _takes_a_session(e)]
    assert with_session, f"{router}: no endpoint takes a session"
    assert [e.name for e in with_session if isinstance(e, ast.FunctionDef)] == []


def test_no_sync_session_api_remains(converted: dict[str, str]) -> None:
    leftovers = [
        path
        for path, text in converted.items()
        if "from sqlalchemy.orm import Session" in text
        or (".query(" in text.replace("# awaitify: review", "") and "awaitify: review" not in text)
    ]
    assert leftovers == []


def test_get_db_yields_an_async_session(converted: dict[str, str]) -> None:
    functions = _functions(converted["backend/api/utils/database.py"])
    assert isinstance(functions["get_db"], ast.AsyncFunctionDef)
    assert "async_sessionmaker(bind=engine" in converted["backend/api/utils/database.py"]
