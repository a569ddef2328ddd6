"""The person record. Later work adds the training attributes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from supporters.db import Base, now_utc


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_reading: Mapped[str] = mapped_column(String(100), index=True)  # full-width katakana
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    residence_municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"))
    work_municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)
