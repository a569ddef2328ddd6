"""attributes as each program words them, with the reporting group each maps to; the
enrolment records the attribute as given then (issue 16, item 8)

Revision ID: 0023_attrs
Revises: 0017_rules
Create Date: 2026-11-30 12:50:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0023_attrs"
down_revision = "0017_rules"
branch_labels = None
depends_on = None

GROUPS = (
    "reporting_group IN ('welfare_professional', 'family', 'lived_experience', "
    "'municipal_staff', 'private_support', 'resident', 'other')"
)
# (program, code, label_ja, label_en, reporting group). Where a program's word is the
# reporting group's, the code is the group's (every person's attribute today).
# Kagawa: the seed (../shared/seeds/000_d504a2ad3fc2702d.txt, line 166) counts 福祉専門職
# (社会福祉協議会の職員、行政の相談担当者 ...), ひきこもり当事者の家族, ひきこもり当事者.
# Chiba: line 81, 市町村職員、民間企業・団体の支援者、一般県民. Tochigi: the seed names none,
# the product's list.
GENERIC = [
    ("welfare_professional", "福祉専門職", "Welfare professional", "welfare_professional"),
    ("family", "家族", "Family member", "family"),
    ("lived_experience", "当事者", "Lived experience", "lived_experience"),
    ("municipal_staff", "市町村職員", "Municipal staff", "municipal_staff"),
    ("private_support", "民間支援団体", "Private support organisation", "private_support"),
    ("resident", "住民", "Resident", "resident"),
    ("other", "その他", "Other", "other"),
]
ATTRIBUTES = {
    "tochigi": GENERIC,
    "kagawa": [
        ("welfare_professional", "福祉専門職", "Welfare professional", "welfare_professional"),
        ("council_staff", "社会福祉協議会の職員", "Social welfare council staff",
         "welfare_professional"),
        ("municipal_consultant", "行政の相談担当者", "Municipal consultation staff",
         "welfare_professional"),
        ("family", "ひきこもり当事者の家族", "Family member", "family"),
        ("lived_experience", "ひきこもり当事者", "Lived experience", "lived_experience"),
        ("municipal_staff", "市町村職員", "Municipal staff", "municipal_staff"),
        ("private_support", "民間支援団体", "Private support organisation", "private_support"),
        ("resident", "住民", "Resident", "resident"),
        ("other", "その他", "Other", "other"),
    ],
    "chiba": [
        ("municipal_staff", "市町村職員", "Municipal staff", "municipal_staff"),
        ("private_support", "民間企業・団体の支援者", "Supporter from a company or organisation",
         "private_support"),
        ("resident", "一般県民", "Resident of the prefecture", "resident"),
        ("welfare_professional", "福祉専門職", "Welfare professional", "welfare_professional"),
        ("family", "家族", "Family member", "family"),
        ("lived_experience", "当事者", "Lived experience", "lived_experience"),
        ("other", "その他", "Other", "other"),
    ],
}  # fmt: skip


def upgrade():
    op.create_table(
        "program_attribute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("label_ja", sa.String(length=100), nullable=False),
        sa.Column("label_en", sa.String(length=100), nullable=False),
        sa.Column("reporting_group", sa.String(length=30), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(GROUPS, name=op.f("ck_program_attribute_reporting_group")),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_program_attribute_program_id_program")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_program_attribute")),
    )
    op.create_index(
        "ix_program_attribute_key", "program_attribute", ["program_id", "code"], unique=True
    )
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attribute", sa.String(length=40), nullable=True))

    bind = op.get_bind()
    for program, rows in ATTRIBUTES.items():
        for order, (code, label_ja, label_en, group) in enumerate(rows, start=1):
            bind.execute(
                sa.text(
                    "INSERT INTO program_attribute (program_id, code, label_ja, label_en, "
                    "reporting_group, sort_order, active) "
                    "SELECT id, :code, :label_ja, :label_en, :grp, :sort_order, :active "
                    "FROM program WHERE code = :program"
                ),
                dict(
                    program=program, code=code, label_ja=label_ja, label_en=label_en,
                    grp=group, sort_order=order, active=True,
                ),
            )  # fmt: skip
    # Existing enrolments: the person's attribute today is the best record of then.
    bind.execute(
        sa.text(
            "UPDATE enrolment SET attribute = "
            "(SELECT person.attribute FROM person WHERE person.id = enrolment.person_id)"
        )
    )


def downgrade():
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_column("attribute")
    op.drop_index("ix_program_attribute_key", table_name="program_attribute")
    op.drop_table("program_attribute")
