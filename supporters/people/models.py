"""The person record: who a trainee or supporter is. Never a client or a client's family."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from supporters.db import Base, now_utc
from supporters.programs.models import Municipality


class Attribute(StrEnum):
    """The trainee attribute of Kagawa's figures. Sensitive: coordinators see it per person,
    everyone else only as aggregates."""

    WELFARE_PROFESSIONAL = "welfare_professional"  # 福祉専門職
    FAMILY = "family"  # 家族
    LIVED_EXPERIENCE = "lived_experience"  # 当事者
    MUNICIPAL_STAFF = "municipal_staff"  # 市町村職員
    PRIVATE_SUPPORT = "private_support"  # 民間支援団体
    RESIDENT = "resident"  # 住民
    OTHER = "other"  # その他


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_reading: Mapped[str] = mapped_column(String(100), index=True)  # full-width katakana
    # 印字用氏名: the form to print when the name has a character fonts cannot draw.
    print_name: Mapped[str | None] = mapped_column(String(100))
    # Name without spaces, for duplicate detection.
    name_key: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    postal_code: Mapped[str | None] = mapped_column(String(8))
    address: Mapped[str | None] = mapped_column(String(200))
    residence_municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"))
    work_municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"))
    attribute: Mapped[str | None] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    residence_municipality: Mapped[Municipality | None] = relationship(
        foreign_keys=[residence_municipality_id]
    )
    work_municipality: Mapped[Municipality | None] = relationship(
        foreign_keys=[work_municipality_id]
    )

    __table_args__ = (
        CheckConstraint(
            "attribute IS NULL OR attribute IN ('welfare_professional', 'family', "
            "'lived_experience', 'municipal_staff', 'private_support', 'resident', 'other')",
            name="attribute",
        ),
        Index("ix_person_name_key_reading", "name_key", "name_reading"),
        # The register's search by reading prefix (LIKE 'カナ%'): text_pattern_ops lets
        # PostgreSQL use it whatever the database's collation.
        Index(
            "ix_person_reading_prefix",
            "name_reading",
            postgresql_ops={"name_reading": "text_pattern_ops"},
        ),
    )

    @property
    def printable_name(self) -> str:
        return self.print_name or self.name
