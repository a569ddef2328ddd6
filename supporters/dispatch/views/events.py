"""Dispatch pages for coordinators and municipal staff: the lists and the month view,
creating events and requests (one or a series), and the event page with its staffing."""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Callable
from datetime import date, timedelta

import jpholiday
from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from supporters.accounts.permissions import coordinated_program_ids, is_admin
from supporters.core.dates import parse_month
from supporters.core.forms import ConfirmForm, ReasonForm
from supporters.core.time import TOKYO, local_date
from supporters.core.web import download, posted_reason, require, require_confirmed, save
from supporters.db import ServiceError, now_utc, writes
from supporters.dispatch import finding, kinds, lists, notify, participation, series, services
from supporters.dispatch.forms import (
    EventForm,
    NeededForm,
    event_when,
    venue_hint,
)
from supporters.dispatch.models import Assignment, DispatchEvent, EventKind, Participation
from supporters.dispatch.permissions import (
    can_manage_event,
    can_staff_event,
    staff_programs,
)
from supporters.dispatch.places import place_counts
from supporters.dispatch.views.common import bp, labels, load_event
from supporters.dispatch.words import lazy_event_word
from supporters.extensions import db
from supporters.people.free_text import asks_confirmation
from supporters.people.models import Person
from supporters.programs.fields import example_place
from supporters.programs.models import Municipality, Program
from supporters.programs.services import find_municipality, get_program_by_code, list_programs
from supporters.registry.forms import ACTIVITY_LABELS
from supporters.registry.models import Registration
from supporters.registry.permissions import (
    is_own_current_registration,
)

# --- lists and the month view ---------------------------------------------------------


def _month() -> date:
    try:
        return parse_month(request.args.get("month"))
    except ValueError:
        today = local_date(now_utc())
        return today.replace(day=1)


@bp.get("/dispatch/")
def index() -> ResponseReturnValue:
    if not (
        coordinated_program_ids(current_user)
        or staff_programs(current_user)
        or is_admin(current_user)
    ):
        return redirect(url_for("dispatch.my_schedule"))
    show = request.args.get("show") or ""
    if show in services.EVENT_LISTS or show == "unconfirmed":
        return _filtered_list(show)
    first = _month()
    place_id = None
    place_text = (request.args.get("municipality") or "").strip()[:40]
    if place_text:
        try:
            place_id = find_municipality(db.session, place_text).id
        except ServiceError as error:
            flash(error.message, "error")
    events = lists.month_events(db.session, current_user, first, municipality_id=place_id)
    taken = place_counts(db.session, events)
    by_day: dict[date, list[DispatchEvent]] = {}
    for event in events:
        by_day.setdefault(local_date(event.starts_at), []).append(event)
    weeks = month_calendar.Calendar(firstweekday=6).monthdatescalendar(first.year, first.month)
    holidays = {
        day: jpholiday.is_holiday_name(day)
        for week in weeks
        for day in week
        if jpholiday.is_holiday(day)
    }
    previous = (first - timedelta(days=1)).replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return render_template(
        "dispatch/index.html",
        first=first,
        weeks=weeks,
        by_day=by_day,
        events=events,
        taken=taken,
        holidays=holidays,
        previous=previous,
        following=following,
        place_text=place_text,
        can_create=bool(coordinated_program_ids(current_user)),
        can_request=bool(staff_programs(current_user)),
        today=local_date(now_utc()),
        when=event_when,
        line=lists.month_lines(events, taken, url=_detail_url(), when=event_when),
        **labels(),
    )


def _detail_url() -> Callable[[int], str]:
    """An event page's address by id, built once per page rather than once per link (the
    route's placeholder is the only variable part)."""
    path = url_for("dispatch.detail", event_id=1)
    head = path.removesuffix("1")
    return lambda event_id: f"{head}{event_id}"


LIST_TITLES = {
    "understaffed": _l("Events in the next %(n)d days still short of supporters"),
    "requested": _l("Dispatch requests waiting for the coordinator's answer"),
    "upcoming": _l("Coming events"),
    "unconfirmed": _l("Requests to supporters unanswered for more than %(n)d hours"),
}


def _filtered_list(show: str) -> ResponseReturnValue:
    """The list a start page's number leads to: exactly the items it counts, any month."""
    if show == "unconfirmed":  # names of supporters: for those who staff the events
        require(bool(coordinated_program_ids(current_user)) or is_admin(current_user))
    now = now_utc()
    program = None
    code = (request.args.get("program") or "").strip()
    if code:
        program = get_program_by_code(db.session, code)
        if program is None:
            abort(404)
    assignments: list[tuple[Assignment, DispatchEvent, Registration]] = []
    events: list[DispatchEvent] = []
    if show == "unconfirmed":
        assignments = lists.unconfirmed_assignments(
            db.session, current_user, program=program, now=now
        )
    else:
        events = lists.listed_events(db.session, current_user, show, program=program, now=now)
    number = {"understaffed": services.UNDERSTAFFED_DAYS}.get(show, services.UNCONFIRMED_HOURS)
    return render_template(
        "dispatch/list.html",
        show=show,
        title=LIST_TITLES[show] % {"n": number},
        program=program,
        events=events,
        assignments=assignments,
        taken=place_counts(db.session, events),
        when=event_when,
        **labels(),
    )


# --- creating and requesting ----------------------------------------------------------


def _event_input(form: EventForm, place: Municipality) -> services.EventInput:
    assert form.date.data is not None
    if form.start.data is None or form.end.data is None:
        raise ServiceError(
            "start", _("Enter a time like 13:30 (1330 and 13時30分 work too)."), code="time_invalid"
        )
    starts, ends = services.validate_times(form.date.data, form.start.data, form.end.data)
    return services.EventInput(
        title=form.title.data or "",
        municipality_id=place.id,
        venue=form.venue.data or "",
        starts_at=starts,
        ends_at=ends,
        needed=form.needed.data or 0,
        activity=form.activity.data or "",
        lead_consultant=(form.lead_consultant.data or "").strip(),
        notes=(form.notes.data or "").strip(),
        bring=(form.bring.data or "").strip(),
        activity_kind_id=int(form.activity_kind.data) if form.activity_kind.data else None,
        free_text_confirmed=bool(form.confirm_free_text.data),
    )


def _for_program(form: EventForm, program: Program, place: str | None = None) -> None:
    """Examples from the program's own prefecture (the municipality field's suggestions
    come with the template's municipality_field)."""
    form.venue.description = venue_hint(place or example_place(db.session, program))
    language = kinds.current_language()
    form.activity_kind.choices = [
        (str(k.id), k.name(language))
        for k in kinds.program_kinds(db.session, program)
        # A municipality requests dispatches, not the program's other activities.
        if place is None or k.event_kind == EventKind.DISPATCH_REQUEST
    ]


def _holiday_note(form: EventForm) -> str | None:
    if form.date.data and jpholiday.is_holiday(form.date.data):
        return _(
            "%(d)s is a public holiday (%(name)s).",
            d=form.date.data.isoformat(),
            name=jpholiday.is_holiday_name(form.date.data),
        )
    return None


def _create_series(form: EventForm, program: Program, place: Municipality) -> DispatchEvent:
    """The series in one go; its first event is shown, its public holidays flagged."""
    if form.repeat_until.data is None:
        raise ServiceError(
            "repeat_until", _("Enter the last date of the series."), code="series_until_required"
        )
    events, dates = series.create_series(
        db.session,
        actor=current_user,
        program=program,
        data=_event_input(form, place),
        repeat=series.Repeat(form.repeat.data),
        until=form.repeat_until.data,
    )
    flash(_("%(n)d dates were created.", n=len(events)), "info")
    for occurrence in dates:
        if occurrence.holiday:
            flash(
                _(
                    "%(d)s is a public holiday (%(name)s).",
                    d=occurrence.day.isoformat(),
                    name=occurrence.holiday,
                ),
                "info",
            )
    return events[0]


@bp.route("/dispatch/new", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    program_ids = coordinated_program_ids(current_user)
    require(bool(program_ids))
    programs = list_programs(db.session, program_ids)
    program = next((p for p in programs if p.code == request.values.get("program")), programs[0])
    form = EventForm()
    _for_program(form, program)
    needs_confirm = False
    if form.validate_on_submit():

        def create() -> DispatchEvent:
            place = find_municipality(
                db.session, form.municipality.data or "", prefecture=program.prefecture
            )
            if form.repeat.data:
                return _create_series(form, program, place)
            return services.create_event(
                db.session, actor=current_user, program=program, data=_event_input(form, place)
            )

        created = save(
            create, form=form, success=_("The event was created and is open for supporters.")
        )
        if created.value is not None:
            note = _holiday_note(form)
            if note:
                flash(note, "info")
            return redirect(url_for("dispatch.detail", event_id=created.value.id))
        needs_confirm = created.error is not None and asks_confirmation(created.error)
    return render_template(
        "dispatch/form.html",
        form=form,
        program=program,
        programs=programs,
        mode="new",
        holiday=_holiday_note(form),
        needs_confirm=needs_confirm,
    )


@bp.route("/dispatch/request", methods=["GET", "POST"])
def request_form() -> ResponseReturnValue:
    places = staff_programs(current_user)
    require(bool(places))
    municipality_id, program_id = next(iter(places.items()))
    municipality = db.session.get(Municipality, municipality_id)
    program = db.session.get(Program, program_id)
    assert municipality is not None and program is not None
    form = EventForm()
    _for_program(form, program, place=municipality.name)
    if request.method == "GET":
        form.municipality.data = municipality.name
    needs_confirm = False
    if form.validate_on_submit():
        requested = save(
            lambda: services.request_dispatch(
                db.session,
                actor=current_user,
                program=program,
                data=_event_input(form, municipality),
                now=now_utc(),
            ),
            form=form,
            success=_("Your request was sent to the coordinator."),
        )
        if requested.value is not None:
            return redirect(url_for("dispatch.detail", event_id=requested.value.id))
        needs_confirm = requested.error is not None and asks_confirmation(requested.error)
    return render_template(
        "dispatch/form.html",
        form=form,
        program=program,
        programs=[program],
        mode="request",
        fixed_place=municipality,
        holiday=_holiday_note(form),
        needs_confirm=needs_confirm,
    )


# --- the event page -------------------------------------------------------------------


@bp.get("/dispatch/<int:event_id>")
def detail(event_id: int) -> str:
    event = load_event(event_id)
    manage = can_manage_event(current_user, event)
    now = now_utc()
    rows = lists.event_places(db.session, event)
    people = {r.person_id: r.person for _a, r in rows}
    suggestions = []
    if can_staff_event(current_user, event) and finding.takes_people(event, now=now):
        suggestions = finding.suggestions(db.session, event, now=now)
    takes_participants = participation.takes_participants(event)
    return render_template(
        "dispatch/detail.html",
        event=event,
        series_from=local_date(event.starts_at).isoformat(),
        rows=rows,
        people=people,
        manage=manage,
        suggestions=suggestions,
        takes_participants=takes_participants,
        participants=participation.participants(db.session, event) if takes_participants else [],
        candidates=participation.candidates(db.session, event)
        if manage and takes_participants and event.starts_at > now
        else [],
        counts=place_counts(db.session, [event]).get(event.id),
        confirm=ConfirmForm(),
        reason_form=ReasonForm(),
        needed_form=NeededForm(needed=event.needed),
        started=event.starts_at <= now,
        ended=event.ends_at <= now,
        when=event_when(event),
        holiday=jpholiday.is_holiday_name(local_date(event.starts_at)),
        **labels(),
    )


def _manage(event_id: int) -> DispatchEvent:
    event = load_event(event_id)
    require(can_manage_event(current_user, event))
    return event


def _back(event: DispatchEvent) -> ResponseReturnValue:
    return redirect(url_for("dispatch.detail", event_id=event.id))


@bp.post("/dispatch/<int:event_id>/assign")
def assign(event_id: int) -> ResponseReturnValue:
    event = load_event(event_id)
    require(can_staff_event(current_user, event))
    require_confirmed()
    registration_id = request.form.get("registration_id", type=int)
    registration = db.session.get(Registration, registration_id) if registration_id else None
    if registration is None:
        abort(404)
    save(
        lambda: notify.ask_supporter(
            db.session, actor=current_user, event=event, registration=registration, now=now_utc()
        ),
        success=_("%(name)s was asked to take part.", name=registration.person.name),
    )
    return _back(event)


@bp.post("/dispatch/<int:event_id>/participants")
def add_participant(event_id: int) -> ResponseReturnValue:
    """A completer who did not register joins a group activity, as a participant."""
    event = _manage(event_id)
    require_confirmed()
    person = db.session.get(Person, request.form.get("person_id", type=int) or 0)
    if person is None:
        flash(_("Choose the participant."), "error")
        return _back(event)
    save(
        lambda: participation.join(
            db.session, actor=current_user, event=event, person=person, now=now_utc()
        ),
        success=_("%(name)s takes part as a participant.", name=person.name),
    )
    return _back(event)


@bp.post("/participations/<int:participation_id>/leave")
def remove_participant(participation_id: int) -> ResponseReturnValue:
    row = db.session.get(Participation, participation_id)
    if row is None:
        abort(404)
    event = _manage(row.event_id)
    require_confirmed()
    save(
        lambda: participation.leave(
            db.session, actor=current_user, participation=row, now=now_utc()
        ),
        success=_("Saved."),
    )
    return _back(event)


@bp.post("/dispatch/<int:event_id>/accept")
def accept(event_id: int) -> ResponseReturnValue:
    event = _manage(event_id)
    require_confirmed()
    save(
        lambda: services.accept_request(db.session, actor=current_user, event=event, now=now_utc()),
        success=_("The request was accepted; supporters can now take the places."),
    )
    return _back(event)


@bp.post("/dispatch/<int:event_id>/decline")
def decline(event_id: int) -> ResponseReturnValue:
    return _with_reason(event_id, services.decline_request, _("The request was declined."))


@bp.post("/dispatch/<int:event_id>/cancel")
def cancel(event_id: int) -> ResponseReturnValue:
    return _with_reason(
        event_id,
        notify.cancel_event_and_tell,
        _("The event was cancelled; its supporters are told."),
    )


def _with_reason(event_id: int, action: Callable[..., object], success: str) -> ResponseReturnValue:
    """A button that asks for a reason: `action(session, actor=, event=, reason=)` on the
    managed event when one was posted, then back to the event."""
    event = _manage(event_id)
    reason = posted_reason()
    if reason is not None:
        save(
            lambda: action(db.session, actor=current_user, event=event, reason=reason),
            success=success,
        )
    return _back(event)


@bp.post("/dispatch/<int:event_id>/cancel-series")
def cancel_series(event_id: int) -> ResponseReturnValue:
    """Cancel this event's series from a date on; the supporters who held places are told."""
    event = _manage(event_id)
    reason = posted_reason()
    if reason is None:
        return _back(event)
    try:
        from_day = date.fromisoformat(request.form.get("from_day") or "")
    except ValueError:
        flash(_("Enter the first date to cancel."), "error")
        return _back(event)

    def cancel_rest() -> None:
        for assignment in series.cancel_series_from(
            db.session, actor=current_user, event=event, from_day=from_day, reason=reason
        ):
            notify.tell_supporter(
                db.session,
                assignment,
                _l("This %(event)s has been cancelled.", event=lazy_event_word(assignment.event)),
            )

    save(
        cancel_rest, success=_("The series was cancelled from that date; its supporters are told.")
    )
    return _back(event)


@bp.post("/dispatch/<int:event_id>/needed")
def needed(event_id: int) -> ResponseReturnValue:
    event = _manage(event_id)
    form = NeededForm()
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        flash(_("Between 1 and %(n)d supporters.", n=services.MAX_NEEDED), "error")
        return _back(event)
    save(
        lambda: services.change_needed(
            db.session, actor=current_user, event=event, needed=form.needed.data or 0
        ),
        success=_("Saved."),
    )
    return _back(event)


@bp.post("/dispatch/<int:event_id>/attendance")
def attendance(event_id: int) -> ResponseReturnValue:
    event = _manage(event_id)
    require_confirmed()
    try:
        attended = {int(v) for v in request.form.getlist("attended")}
    except ValueError:
        abort(400)
    save(
        lambda: services.record_attendance(
            db.session, actor=current_user, event=event, attended_ids=attended, now=now_utc()
        ),
        success=_("Attendance saved. Those who attended are asked for their activity report."),
    )
    return _back(event)


@bp.get("/assignments/<int:assignment_id>/notice.pdf")
@writes
def notice(assignment_id: int) -> ResponseReturnValue:
    """The supporter's printed notice (活動のご案内; the program may title it otherwise,
    Chiba: 派遣のご案内), for a supporter without a smartphone."""
    from supporters.core.eras import format_date
    from supporters.dispatch.pdf import DispatchNoticeData, render_dispatch_notice
    from supporters.pdf.errors import PdfInputError

    assignment = db.get_or_404(Assignment, assignment_id)
    event = assignment.event
    require(can_manage_event(current_user, event))
    start = event.starts_at.astimezone(TOKYO)
    end = event.ends_at.astimezone(TOKYO)
    organiser = next(
        (o.name for o in event.program.organisations if o.kind == "operator"), event.program.name_ja
    )
    person = assignment.registration.person
    data = DispatchNoticeData(
        supporter_name=person.printable_name,
        event_title=event.title,
        when=f"{format_date(start.date())} {start:%H:%M}〜{end:%H:%M}",
        place=f"{event.municipality.full_name} {event.venue}",
        activity=str(ACTIVITY_LABELS[event.activity]),
        bring=event.bring,
        notes=event.notes,
        issuer_name=organiser,
        issued_on=local_date(now_utc()),
        title=event.program.term("notice.title", "活動のご案内"),  # printed in Japanese
    )
    try:
        pdf = render_dispatch_notice(data, font_path=current_app.config.get("PDF_FONT"))
    except PdfInputError as error:
        flash(error.message, "error")
        return _back(event)
    services.record_notice_printed(db.session, actor=current_user, assignment=assignment)
    db.session.commit()
    return download(
        pdf, mimetype="application/pdf", filename=f"notice-{assignment.id}.pdf", inline=True
    )


@bp.post("/assignments/<int:assignment_id>/cancel")
def cancel_assignment(assignment_id: int) -> ResponseReturnValue:
    assignment = db.get_or_404(Assignment, assignment_id)
    mine = is_own_current_registration(current_user, assignment.registration)
    require(mine or can_manage_event(current_user, assignment.event))
    require_confirmed()
    save(
        lambda: notify.cancel_assignment_and_tell(
            db.session, actor=current_user, assignment=assignment, now=now_utc(), by_supporter=mine
        ),
        success=_("The place was cancelled and is open again."),
    )
    if mine:
        return redirect(url_for("dispatch.my_schedule"))
    return _back(assignment.event)
