"""reference data: Japan's 1,741 municipalities and the three programs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 15:40:00

The municipalities come from the package's data file (derived once from JpGeocode; see
supporters/programs/data/NOTICE.md). The programs are a snapshot of their rules as the
seed describes them; later changes to a program's rules are data edits, not code.
"""
import csv
from datetime import datetime, timezone
from importlib import resources

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

PROGRAMS = [
    dict(
        code="chiba", prefecture="千葉県",
        name_ja="千葉県ひきこもりサポーター養成事業",
        name_en="Chiba Hikikomori Supporter Training Program",
        public_name_ja="千葉県 サポーター", public_name_en="Chiba Prefecture Supporter",
        eligibility_rule="lives_or_works_in_prefecture", registration_mode="on_completion",
        follow_up_interval_months=None, follow_up_mandatory=False, follow_up_window_days=180,
        follow_up_sessions_per_year=None, activity_reports_required=False,
        dispatch_mode="municipal_request",
        registration_number_format="{prefix}-{year}-{seq:04d}", registration_number_prefix="CHB",
        self_cancel_cutoff_hours=48, show_holder_name_on_verify=False,
    ),
    dict(
        code="tochigi", prefecture="栃木県",
        name_ja="栃木県ひきこもりサポーター養成事業",
        name_en="Tochigi Hikikomori Supporter Training Program",
        public_name_ja="栃木県 サポーター", public_name_en="Tochigi Prefecture Supporter",
        eligibility_rule="open", registration_mode="on_completion",
        follow_up_interval_months=36, follow_up_mandatory=True, follow_up_window_days=180,
        follow_up_sessions_per_year=None, activity_reports_required=True,
        dispatch_mode="outreach_sitting_in",
        registration_number_format="{prefix}-{year}-{seq:04d}", registration_number_prefix="TCG",
        self_cancel_cutoff_hours=48, show_holder_name_on_verify=False,
    ),
    dict(
        code="kagawa", prefecture="香川県",
        name_ja="香川県ひきこもりサポーター養成事業",
        name_en="Kagawa Hikikomori Supporter Training Program",
        public_name_ja="香川県 サポーター", public_name_en="Kagawa Prefecture Supporter",
        eligibility_rule="can_act_in_prefecture", registration_mode="on_request",
        follow_up_interval_months=None, follow_up_mandatory=False, follow_up_window_days=180,
        follow_up_sessions_per_year=5, activity_reports_required=False,
        dispatch_mode="group_activities",
        registration_number_format="{prefix}-{year}-{seq:04d}", registration_number_prefix="KGW",
        self_cancel_cutoff_hours=24, show_holder_name_on_verify=False,
    ),
]


def upgrade():
    municipality = sa.table(
        "municipality",
        sa.column("code", sa.String), sa.column("prefecture", sa.String),
        sa.column("name", sa.String), sa.column("latitude", sa.Float),
        sa.column("longitude", sa.Float),
    )
    source = resources.files("supporters.programs").joinpath("data/municipalities.csv")
    with source.open(encoding="utf-8", newline="") as handle:
        rows = [
            dict(code=r["code"], prefecture=r["prefecture"], name=r["name"],
                 latitude=float(r["latitude"]), longitude=float(r["longitude"]))
            for r in csv.DictReader(handle)
        ]
    op.bulk_insert(municipality, rows)

    program = sa.table(
        "program", *[sa.column(key) for key in PROGRAMS[0]], sa.column("created_at", sa.DateTime)
    )
    now = datetime.now(timezone.utc)
    op.bulk_insert(program, [dict(p, created_at=now) for p in PROGRAMS])


def downgrade():
    # Every record hangs off the reference data. Going below this revision removes it, so
    # what refers to it goes first (or loses an optional reference), in foreign-key order;
    # without this a downgrade of a database in use failed. Take a backup first.
    programs = "SELECT id FROM program WHERE code IN ('chiba', 'tochigi', 'kagawa')"
    op.execute(sa.text(f"UPDATE audit_event SET program_id = NULL WHERE program_id IN ({programs})"))
    op.execute(
        sa.text(
            f"DELETE FROM role_grant WHERE program_id IN ({programs}) OR municipality_id IS NOT NULL"
        )
    )
    op.execute(sa.text("UPDATE organisation SET municipality_id = NULL"))
    op.execute(sa.text(f"DELETE FROM organisation WHERE program_id IN ({programs})"))
    op.execute(
        sa.text("UPDATE person SET residence_municipality_id = NULL, work_municipality_id = NULL")
    )
    op.execute(sa.text("DELETE FROM program WHERE code IN ('chiba', 'tochigi', 'kagawa')"))
    op.execute(sa.text("DELETE FROM municipality"))
