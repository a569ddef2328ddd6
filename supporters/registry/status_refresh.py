"""The daily refresh of the status stored on each registration (issue 17).

The services keep `Registration.status` and `Registration.follow_up_due` true when they
change a registration; lists read them through `registry.services.status_today_sql`, which
moves a status past its validity dates by itself. This job, run once a day (the scheduler
registers it), rewrites the stored values from the history where the days that passed or a
change of the program's rules made them differ, so that the stored columns equal
`status_on` on every registration again. Set-based: one UPDATE per program for the status,
and only the changed rows for the follow-up due date. A rule version that comes into force
today is copied to the program's columns first (`sync_program_rules`)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from supporters.db import DbSession
from supporters.programs.models import Program, sync_program_rules
from supporters.registry.models import Registration
from supporters.registry.services import status_sql, window_opens


def refresh_statuses(session: DbSession, *, today: date) -> int:
    """Store today's status and follow-up due date where they changed; returns how many
    registrations were rewritten. Does not commit."""
    changed: set[int] = set()
    for program in session.scalars(select(Program).order_by(Program.id)):
        sync_program_rules(program, today)
        status = status_sql(program, today).element
        result = session.execute(
            update(Registration)
            .where(
                Registration.program_id == program.id,
                Registration.registered_on <= today,
                Registration.status != status,
            )
            .values(status=status)
            .returning(Registration.id)
            .execution_options(synchronize_session="fetch")
        )
        changed.update(result.scalars())
        due_changes = [
            (rid, window_opens(program, end, today))
            for rid, end, due in session.execute(
                select(Registration.id, Registration.valid_until, Registration.follow_up_due).where(
                    Registration.program_id == program.id
                )
            )
            if window_opens(program, end, today) != due
        ]
        if due_changes:
            session.execute(
                update(Registration),
                [{"id": rid, "follow_up_due": due} for rid, due in due_changes],
            )
            changed.update(rid for rid, _ in due_changes)
    return len(changed)
