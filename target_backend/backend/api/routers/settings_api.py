"""Settings endpoints (sync)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlalchemy.orm import Session as DBSession

from backend.api.schemas.settings_schema import Setting, SettingCreate, SettingUpdate, TemplateValidation
from backend.api.services.settings_service import SettingsService
from backend.api.utils.database import get_db

router = APIRouter(prefix="/api/settings", tags=["settings"])


@router.get("/", response_model=list[Setting])
def read_settings(
    skip: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=500), db: DBSession = Depends(get_db)
) -> Any:
    return SettingsService(db).read_settings(skip=skip, limit=limit)


@router.post("/", response_model=Setting, status_code=status.HTTP_201_CREATED)
def create_setting(setting: SettingCreate, db: DBSession = Depends(get_db)) -> Any:
    try:
        return SettingsService(db).create_setting(setting)
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc


@router.get("/path-variables")
def get_path_variables() -> dict[str, list[str]]:
    return {"variables": SettingsService.get_path_variables()}


@router.post("/validate-template", response_model=TemplateValidation)
def validate_template(template: str) -> Any:
    valid, unknown = SettingsService.validate_template(template)
    return {"template": template, "valid": valid, "unknown_variables": unknown}


@router.get("/{key}", response_model=Setting)
def read_setting(key: str, db: DBSession = Depends(get_db)) -> Any:
    setting = SettingsService(db).read_setting(key)
    if setting is None:
        raise HTTPException(status_code=404, detail="Setting not found")
    return setting


@router.put("/{key}", response_model=Setting)
def update_setting(key: str, update: SettingUpdate, db: DBSession = Depends(get_db)) -> Any:
    try:
        setting = SettingsService(db).update_setting(key, update)
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    if setting is None:
        raise HTTPException(status_code=404, detail="Setting not found")
    return setting
