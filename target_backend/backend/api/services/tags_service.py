"""Genre and mood tags (sync)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.api.models.tags_model import GenreTag, MoodTag
from backend.api.schemas.tags_schema import TagCreate


class TagsService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get_genre_tags(self, skip: int = 0, limit: int = 100) -> list[GenreTag]:
        return self.session.query(GenreTag).order_by(GenreTag.name).offset(skip).limit(limit).all()

    def get_mood_tags(self, skip: int = 0, limit: int = 100) -> list[MoodTag]:
        return self.session.query(MoodTag).order_by(MoodTag.name).offset(skip).limit(limit).all()

    def get_genre_tag(self, tag_id: int) -> GenreTag | None:
        return self.session.get(GenreTag, tag_id)

    def get_mood_tag(self, tag_id: int) -> MoodTag | None:
        return self.session.query(MoodTag).filter(MoodTag.id == tag_id).first()

    def create_genre_tag(self, data: TagCreate) -> GenreTag:
        name = data.name.strip().lower()
        tag = self.session.query(GenreTag).filter(GenreTag.name == name).first()
        if tag is not None:
            return tag
        tag = GenreTag(name=name)
        self.session.add(tag)
        self.session.commit()
        self.session.refresh(tag)
        return tag

    def create_mood_tag(self, data: TagCreate) -> MoodTag:
        name = data.name.strip().lower()
        tag = self.session.query(MoodTag).filter(MoodTag.name == name).first()
        if tag is not None:
            return tag
        tag = MoodTag(name=name)
        self.session.add(tag)
        self.session.commit()
        self.session.refresh(tag)
        return tag
