"""The words of the fiscal-year report, in one place: the web page, its PDF and its CSV all
take their headings and labels from here, so they use the same terms.

Messages are English msgids (N_ marks them for extraction); the web page translates them in
the user's language, the PDF and the CSV (documents for Japanese offices) in Japanese.
"""

from __future__ import annotations

from flask_babel import force_locale, gettext

from supporters.dispatch.forms import KIND_LABELS as EVENT_KIND_LABELS
from supporters.registry.forms import ACTIVITY_LABELS, STATUS_LABELS
from supporters.training.forms import ATTRIBUTE_LABELS
from supporters.training.forms import KIND_LABELS as COURSE_KIND_LABELS


def N_(message: str) -> str:
    """Marks a message for extraction; translated where it is shown."""
    return message


TERMS: dict[str, str] = {
    "report": N_("Fiscal-year report"),
    "total": N_("Total"),
    "courses": N_("Training"),
    "courses.kind": N_("Kind of course"),
    "courses.courses": N_("Number of courses"),
    "courses.capacity": N_("Capacity"),
    "courses.applicants": N_("Applicants"),
    "courses.attendees": N_("Trainees attending"),
    "courses.completions": N_("Trainees completing"),
    "courses.none": N_("No course was held in this fiscal year."),
    "attributes": N_("Attendees of initial training by attribute"),
    "attributes.attribute": N_("Attribute"),
    "attributes.people": N_("People"),
    "attributes.share": N_("Share"),
    "attributes.none": N_("No one attended initial training in this fiscal year."),
    "register": N_("Supporter register"),
    "registrations.new": N_("New registrations"),
    "registrations.renewed": N_("Renewed by follow-up training"),
    "registrations.follow_up_attended": N_("Attended follow-up training (no renewal)"),
    "registrations.lapsed": N_("Lapsed (validity ended in the year)"),
    "registrations.withdrawn": N_("Registration withdrawn"),
    "register.year_end": N_("At the year end"),
    "register.today": N_("Today"),
    "register.as_of": N_("On the chosen day"),
    "register.valid": N_("Registered and valid"),
    "register.status": N_("Status"),
    "follow_up": N_("Follow-up training (mandatory)"),
    "follow_up.due": N_("Validity ended in the year (follow-up due)"),
    "follow_up.done": N_("Follow-up done in time"),
    "follow_up.overdue": N_("Overdue (lapsed)"),
    "follow_up.pending": N_("Still to come this year"),
    "dispatch": N_("Dispatch"),
    "dispatch.events": N_("Dispatch events"),
    "dispatch.supporters": N_("Supporters taking part"),
    "dispatch.hours": N_("Supporter-hours"),
    "dispatch.by_month": N_("By month"),
    "dispatch.month": N_("Calendar month"),
    "dispatch.by_municipality": N_("By municipality"),
    "dispatch.municipality": N_("Municipality"),
    "dispatch.by_kind": N_("By kind"),
    "dispatch.kind": N_("Kind of dispatch"),
    "dispatch.none": N_("No dispatch event in this fiscal year."),
    "participation": N_("Participants (taking part without registering)"),
    "participation.participations": N_("Participations"),
    "participation.participants": N_("Participants (distinct people)"),
    "participation.note": N_(
        "People who completed the training and chose not to register: not supporters, and "
        "not counted in the supporter figures."
    ),
    "activity_reports": N_("Activity reports"),
    "activity_reports.reports": N_("Reports filed"),
    "activity_reports.supporters": N_("Supporters who reported"),
    "activity_reports.hours": N_("Hours reported"),
    "activity_reports.by_kind": N_("By kind of activity"),
    "activity_reports.kind": N_("Kind of activity"),
    "history": N_("Registrations over the years"),
    "history.year": N_("Fiscal year"),
    "history.new": N_("New registrations"),
    "history.valid_at_year_end": N_("Valid at the year end"),
    # the CSV's columns
    "csv.section": N_("Section"),
    "csv.item": N_("Item"),
    "csv.value": N_("Value"),
    "csv.percent": N_("Share (%)"),
    "report.program": N_("Program"),
    "report.organisation": N_("Figures for"),
    "report.whole_program": N_("The whole program (all organisations)"),
    "report.fiscal_year": N_("Fiscal year"),
    "report.start": N_("Period from"),
    "report.end": N_("Period to"),
    "report.figures_until": N_("Records up to"),
    "report.publish": N_("For publication"),
    "report.suppress_below": N_("Numbers under this are hidden"),
    "yes": N_("Yes"),
    "no": N_("No"),
}

LABELS = {
    "course_kind": COURSE_KIND_LABELS,
    "status": STATUS_LABELS,
    "attribute": ATTRIBUTE_LABELS,
    "event_kind": EVENT_KIND_LABELS,
    "activity": ACTIVITY_LABELS,
}


def terms(locale: str | None = None) -> dict[str, str]:
    """Every term and label, translated (in `locale`, else the current one), keyed as TERMS
    and as "<group>.<code>" for the labels (status.active, activity.phone ...). Needs an
    application context."""
    if locale is not None:
        with force_locale(locale):
            return terms()
    result = {key: gettext(message) for key, message in TERMS.items()}
    for group, labels in LABELS.items():
        for code, label in labels.items():
            result[f"{group}.{code}"] = str(label)
    return result
