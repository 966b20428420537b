from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SettingCreate(BaseModel):
    key: str = Field(min_length=1, max_length=100)
    value: str | None = None
    description: str | None = None


class SettingUpdate(BaseModel):
    value: str | None = None
    description: str | None = None


class Setting(SettingCreate):
    model_config = ConfigDict(from_attributes=True)

    id: int


class TemplateValidation(BaseModel):
    template: str
    valid: bool
    unknown_variables: list[str]
