"""audit counter: anonymous checks counted per day instead of one audit row each

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 08:30:00

The public certificate check (/verify) wrote one audit_event row per request, so anonymous
visitors could grow the audit log without end. From now on they are counted per day, target
and outcome; the existing rows are folded into the counters (by their day in Japan time).
"""
from collections import Counter
from datetime import timedelta, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JST = timezone(timedelta(hours=9))


def upgrade():
    op.create_table('audit_counter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target_type', sa.String(length=40), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=True),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_audit_counter_program_id_program')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_counter')),
    sa.UniqueConstraint('day', 'action', 'target_type', 'target_id', 'outcome', name=op.f('uq_audit_counter_day_action_target_type_target_id_outcome'))
    )
    with op.batch_alter_table('audit_counter', schema=None) as batch_op:
        batch_op.create_index('ix_audit_counter_target', ['target_type', 'target_id'], unique=False)

    # Fold the existing per-request rows of the public check into the counters.
    bind = op.get_bind()
    event = sa.table(
        'audit_event',
        sa.column('id', sa.Integer), sa.column('occurred_at', sa.DateTime(timezone=True)),
        sa.column('action', sa.String), sa.column('target_type', sa.String),
        sa.column('target_id', sa.Integer), sa.column('program_id', sa.Integer),
        sa.column('detail', sa.JSON),
    )
    counter = sa.table(
        'audit_counter',
        sa.column('day', sa.Date), sa.column('action', sa.String),
        sa.column('target_type', sa.String), sa.column('target_id', sa.Integer),
        sa.column('outcome', sa.String), sa.column('program_id', sa.Integer),
        sa.column('count', sa.Integer),
    )
    counts = Counter()
    programs = {}
    rows = bind.execute(sa.select(event).where(event.c.action == 'certificate.verify'))
    for row in rows:
        at = row.occurred_at
        if at.tzinfo is None:
            at = at.replace(tzinfo=timezone.utc)
        detail = row.detail if isinstance(row.detail, dict) else {}
        key = (
            at.astimezone(JST).date(), row.target_type or '', row.target_id or 0,
            str(detail.get('result') or ''),
        )
        counts[key] += 1
        programs[key] = row.program_id
    if counts:
        op.bulk_insert(counter, [
            {'day': day, 'action': 'certificate.verify', 'target_type': target_type,
             'target_id': target_id, 'outcome': outcome, 'program_id': programs[key],
             'count': count}
            for key, count in counts.items()
            for day, target_type, target_id, outcome in [key]
        ])
        bind.execute(sa.delete(event).where(event.c.action == 'certificate.verify'))


def downgrade():
    # The counts cannot become one row per check again; they are dropped with the table.
    with op.batch_alter_table('audit_counter', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_counter_target')

    op.drop_table('audit_counter')
