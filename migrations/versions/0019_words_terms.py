"""the programs' own words (Program.terms): the word for an event by kind, eligibility and
follow-up as the programs word them, the printed notice's title

Revision ID: 0015_words
Revises: 0015_scale
Create Date: 2026-11-30 12:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015_words"
down_revision = "0015_scale"
branch_labels = None
depends_on = None

# From the seed and DOMAIN.md: Tochigi's supporters sit in on outreach days, Chiba's are
# sent on a municipality's request, Kagawa's take part in groups and drop-in places.
TERMS = {
    "chiba": {
        "event.dispatch_request": "派遣",
        "eligibility": "千葉県内在住・在勤の方",
        "notice.title": "派遣のご案内",
    },
    "tochigi": {
        "event.outreach_day": "出張相談会への同席",
        "follow_up.interval": "3年ごと",
        "notice.title": "活動のご案内",
    },
    "kagawa": {
        "event.group_activity": "活動への参加",
        "eligibility": "県内で活動できる方",
        "follow_up.sessions": "年4～5回",
        "notice.title": "活動のご案内",
    },
}


def _set(terms_by_code):
    program = sa.table("program", sa.column("code", sa.String), sa.column("terms", sa.JSON))
    for code, terms in terms_by_code.items():
        op.execute(program.update().where(program.c.code == code).values(terms=terms))


def upgrade():
    _set(TERMS)


def downgrade():
    _set({code: {} for code in TERMS})
