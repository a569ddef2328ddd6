"""Training. Importing it tells people.privacy that enrolments are a program's records of a
person."""

from sqlalchemy import Select, select

from supporters.people.privacy import register_person_records


def _enrolled_people() -> Select[int, int]:
    from supporters.training.models import Course, Enrolment

    return select(Enrolment.person_id, Course.program_id).join(
        Course, Course.id == Enrolment.course_id
    )


register_person_records(_enrolled_people)
