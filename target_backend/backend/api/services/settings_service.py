"""Settings: one async method (startup defaults), the rest still sync."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session as DBSession

from backend.api.models.settings_model import Setting
from backend.api.schemas.settings_schema import SettingCreate, SettingUpdate
from backend.api.utils.logging import logger

_TEMPLATE_VARIABLE = re.compile(r"\{([a-z_]+)\}")

DEFAULT_SETTINGS: dict[str, tuple[str, str]] = {
    "music_path_template": ("{library}/{album_artist}/{album}/{track_number} {title}", "Layout of the library"),
    "artist_folder_pattern": ("{album_artist}", "Artist folder name"),
    "scan_batch_size": ("500", "Tracks sent per batch by the scanner"),
    "cover_preferred_size": ("500", "Cover size in pixels"),
}


class SettingsService:
    def __init__(self, db: DBSession) -> None:
        self.db = db

    @staticmethod
    def get_path_variables() -> list[str]:
        return sorted(["album", "album_artist", "disc", "genre", "library", "title", "track_number", "year"])

    @staticmethod
    def validate_template(template: str) -> tuple[bool, list[str]]:
        known = set(SettingsService.get_path_variables())
        used = _TEMPLATE_VARIABLE.findall(template)
        unknown = sorted({v for v in used if v not in known})
        balanced = template.count("{") == template.count("}")
        return (bool(used) and balanced and not unknown, unknown)

    async def ensure_default_settings(self) -> int:
        """Insert the default settings that are missing; called once at startup."""
        created = 0
        for key, (value, description) in DEFAULT_SETTINGS.items():
            existing = self.db.query(Setting).filter(Setting.key == key).first()
            if existing is None:
                self.db.add(Setting(key=key, value=value, description=description))
                created += 1
        self.db.commit()
        if created:
            logger.info("%d default settings created", created)
        return created

    def create_setting(self, data: SettingCreate) -> Setting:
        if self.db.query(Setting).filter(Setting.key == data.key).first() is not None:
            raise ValueError(f"Setting {data.key!r} already exists")
        if data.key.endswith("_template") and data.value is not None:
            valid, unknown = self.validate_template(data.value)
            if not valid:
                raise ValueError(f"Invalid template {data.value!r} (unknown: {', '.join(unknown) or '-'})")
        setting = Setting(key=data.key, value=data.value, description=data.description)
        self.db.add(setting)
        self.db.commit()
        self.db.refresh(setting)
        return setting

    def read_settings(self, skip: int = 0, limit: int = 100) -> list[Setting]:
        return self.db.query(Setting).order_by(Setting.key).offset(skip).limit(limit).all()

    def read_setting(self, key: str) -> Setting | None:
        return self.db.query(Setting).filter_by(key=key).one_or_none()

    def update_setting(self, key: str, data: SettingUpdate) -> Setting | None:
        setting = self.read_setting(key)
        if setting is None:
            return None
        values = data.model_dump(exclude_unset=True)
        if key.endswith("_template") and values.get("value") is not None:
            valid, unknown = self.validate_template(values["value"])
            if not valid:
                raise ValueError(f"Invalid template {values['value']!r} (unknown: {', '.join(unknown) or '-'})")
        for field, value in values.items():
            setattr(setting, field, value)
        self.db.commit()
        self.db.refresh(setting)
        logger.info("Setting %s updated", key)
        return setting
