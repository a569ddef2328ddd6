"""several kinds of activity per program (program data, with the word each program uses for
taking part); events name their kind and may belong to a repeating series (issue 16 item 5)

Revision ID: 0015_kinds
Revises: 0015_words
Create Date: 2026-11-30 12:05:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015_kinds"
down_revision = "0015_words"
branch_labels = None
depends_on = None

# The seed (../shared/seeds/): Tochigi's supporters sit in on the prefecture's outreach
# consultation days, and run places themselves (Sano's monthly family place); Chiba's
# municipalities request supporters (phone, accompanying visits) and run 居場所; Kagawa's
# supporters take part in 家族会・当事者会・居場所.
# (program, code, name_ja, name_en, event_kind, activity, taking_part_ja, taking_part_en,
#  organised_by_supporters)
KINDS = [
    ("tochigi", "outreach_day", "出張相談会への同席", "Sitting in on outreach consultation days",
     "outreach_day", "sitting_in", "出張相談会への同席", "Sitting in", False),
    ("tochigi", "supporter_place", "サポーターが運営する居場所", "Supporter-run place",
     "group_activity", "drop_in", "活動への参加", "Taking part", True),
    ("chiba", "phone", "市町村からの派遣依頼（電話）", "Municipal request: phone support",
     "dispatch_request", "phone", "派遣", "Dispatch", False),
    ("chiba", "visit", "市町村からの派遣依頼（同行訪問）", "Municipal request: accompanying visit",
     "dispatch_request", "home_visit", "派遣", "Dispatch", False),
    ("chiba", "ibasho", "居場所", "Drop-in place",
     "group_activity", "drop_in", "活動への参加", "Taking part", False),
    ("kagawa", "family_group", "家族会", "Family group",
     "group_activity", "family_meeting", "活動への参加", "Taking part", False),
    ("kagawa", "peer_group", "当事者会", "Peer group",
     "group_activity", "other", "活動への参加", "Taking part", False),
    ("kagawa", "ibasho", "居場所", "Drop-in place",
     "group_activity", "drop_in", "活動への参加", "Taking part", False),
]  # fmt: skip


def upgrade():
    op.create_table(
        "program_activity_kind",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_ja", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("event_kind", sa.String(length=20), nullable=False),
        sa.Column("activity", sa.String(length=20), nullable=False),
        sa.Column("taking_part_ja", sa.String(length=100), nullable=False),
        sa.Column("taking_part_en", sa.String(length=100), nullable=False),
        sa.Column("organised_by_supporters", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "event_kind IN ('outreach_day', 'dispatch_request', 'group_activity')",
            name=op.f("ck_program_activity_kind_event_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_program_activity_kind_program_id_program")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_activity_kind")),
    )
    op.create_index(
        "ix_program_activity_kind_key", "program_activity_kind", ["program_id", "code"], unique=True
    )
    with op.batch_alter_table("dispatch_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("activity_kind_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("series_id", sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_dispatch_event_activity_kind_id_program_activity_kind"),
            "program_activity_kind",
            ["activity_kind_id"],
            ["id"],
        )
        batch_op.create_index(
            batch_op.f("ix_dispatch_event_activity_kind_id"), ["activity_kind_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_dispatch_event_series_id"), ["series_id"], unique=False)

    bind = op.get_bind()
    for order, row in enumerate(KINDS, start=1):
        program, code, name_ja, name_en, event_kind, activity, part_ja, part_en, own = row
        bind.execute(
            sa.text(
                "INSERT INTO program_activity_kind (program_id, code, name_ja, name_en, "
                "event_kind, activity, taking_part_ja, taking_part_en, "
                "organised_by_supporters, sort_order, active) "
                "SELECT id, :code, :name_ja, :name_en, :event_kind, :activity, :part_ja, "
                ":part_en, :own, :sort_order, :active FROM program WHERE code = :program"
            ),
            dict(
                program=program, code=code, name_ja=name_ja, name_en=name_en,
                event_kind=event_kind, activity=activity, part_ja=part_ja, part_en=part_en,
                own=own, sort_order=order, active=True,
            ),
        )  # fmt: skip
    # Old events: the program's kind with the same mechanic and report activity, else the
    # first with the same mechanic.
    for match_activity in (True, False):
        activity_clause = "AND k.activity = dispatch_event.activity " if match_activity else ""
        bind.execute(
            sa.text(
                "UPDATE dispatch_event SET activity_kind_id = ("
                "SELECT k.id FROM program_activity_kind k "
                "WHERE k.program_id = dispatch_event.program_id "
                "AND k.event_kind = dispatch_event.kind " + activity_clause + "ORDER BY k.sort_order LIMIT 1) "
                "WHERE activity_kind_id IS NULL"
            )
        )


def downgrade():
    with op.batch_alter_table("dispatch_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispatch_event_series_id"))
        batch_op.drop_index(batch_op.f("ix_dispatch_event_activity_kind_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_dispatch_event_activity_kind_id_program_activity_kind"),
            type_="foreignkey",
        )
        batch_op.drop_column("series_id")
        batch_op.drop_column("activity_kind_id")
    op.drop_index("ix_program_activity_kind_key", table_name="program_activity_kind")
    op.drop_table("program_activity_kind")
