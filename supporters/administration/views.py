"""The program's rules, organisations, scheme municipalities, attributes and curricula on
pages. The admin changes them; the program's coordinators see them (a change: 403). Every
form builds the same spec as the file and goes through `apply_program_spec`."""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice

from supporters.administration.forms import (
    KIND_LABELS,
    TRAVEL_LABELS,
    AttributeForm,
    CurriculaForm,
    OrganisationForm,
    ProgramFileForm,
    RulesForm,
    SchemeForm,
)
from supporters.administration.permissions import can_change_programs, can_see_rules
from supporters.administration.services import apply_program_spec, spec_from_program
from supporters.administration.spec import (
    CURRICULUM_KINDS,
    AttributeSpec,
    CardSpec,
    ContactSpec,
    CurriculaSpec,
    CurriculumItemSpec,
    FileProblems,
    FollowUpSpec,
    NamesSpec,
    NumbersSpec,
    OrganisationSpec,
    Problem,
    ProgramSpec,
    RulesSpec,
    SchemeMunicipalitySpec,
    decode_program_file,
    parse_program_file,
    write_program_file,
)
from supporters.certificates.pdf import CARD_DESIGNS
from supporters.core.text import fold
from supporters.core.time import today_in_japan
from supporters.core.web import require, save
from supporters.db import ServiceError
from supporters.extensions import db
from supporters.programs.models import REPORTING_GROUPS, Program
from supporters.programs.services import get_program_by_code
from supporters.training.forms import ATTRIBUTE_LABELS

bp = Blueprint("administration", __name__, url_prefix="/programs")


@bp.app_context_processor
def _predicates() -> dict[str, Any]:
    """For the programs' pages: whether to link to the settings and to a new program."""
    return {"can_see_rules": can_see_rules, "can_change_programs": can_change_programs}


PROGRAM_FILE_MAX_BYTES = 200 * 1024

# The form field each key of the spec is entered in (the rules page).
RULE_FIELDS = {
    "names.ja": "name_ja",
    "names.en": "name_en",
    "names.public_ja": "public_name_ja",
    "names.public_en": "public_name_en",
    "rules.eligibility": "eligibility",
    "rules.registration": "registration",
    "rules.dispatch_mode": "dispatch_mode",
    "rules.cancellation_cutoff_hours": "cancellation_cutoff_hours",
    "follow_up.interval_months": "interval_months",
    "follow_up.mandatory": "interval_months",  # a tick box shows no message
    "follow_up.window_days": "window_days",
    "follow_up.sessions_per_year": "sessions_per_year",
    "follow_up.renewal_rule": "renewal_rule",
    "follow_up.effective_from": "rules_from",
    "numbers.registration_format": "registration_format",
    "numbers.registration_prefix": "registration_prefix",
    "numbers.completion_format": "completion_format",
    "card.design": "card_design",
    "contact.phone": "contact_phone",
    "contact.email": "contact_email",
}


def _rules_form() -> RulesForm:
    form = RulesForm()
    form.card_design.choices = [SelectChoice(key, d.label) for key, d in CARD_DESIGNS.items()]
    return form


def _program(code: str) -> Program:
    program = get_program_by_code(db.session, code)
    if program is None:
        abort(404)
    require(can_see_rules(current_user, program.id))
    return program


def _apply(spec: ProgramSpec, form: Any, fields: dict[str, str]) -> int:
    """Apply the spec; its problems go next to the form's fields (the rest as one message)."""
    try:
        return len(apply_program_spec(db.session, spec, actor=current_user))
    except FileProblems as refused:
        rest = []
        for problem in refused.problems:
            name = fields.get(problem.key) or _field_of(problem.key, fields)
            field = getattr(form, name, None) if name else None
            if field is not None:
                field.errors = [*field.errors, problem.message]
            else:
                rest.append(str(problem))
        raise ServiceError(
            "", " / ".join(rest) or _("Please check the form."), code="program_spec_invalid"
        ) from None


def _field_of(key: str, fields: dict[str, str]) -> str | None:
    """`scheme[0].honorarium_yen` → the field named after its last part, if the page has it."""
    last = key.rsplit(".", 1)[-1]
    return fields.get("*." + last)


def _saved(changes: int) -> None:
    flash(_("Saved: %(n)d change(s).", n=changes) if changes else _("Nothing changed."), "success")


def _page(template: str, program: Program, **context: Any) -> str:
    return render_template(
        f"administration/{template}",
        program=program,
        can_change=can_change_programs(current_user),
        **context,
    )


# --- rules ----------------------------------------------------------------------------------


def _fill_rules(form: RulesForm, spec: ProgramSpec) -> None:
    form.process(
        data={
            "name_ja": spec.names.ja,
            "name_en": spec.names.en,
            "public_name_ja": spec.names.public_ja,
            "public_name_en": spec.names.public_en,
            "eligibility": spec.rules.eligibility,
            "registration": spec.rules.registration,
            "dispatch_mode": spec.rules.dispatch_mode,
            "activity_reports_required": spec.rules.activity_reports_required,
            "participation_without_registration": spec.rules.participation_without_registration,
            "staff_own_requests": spec.rules.staff_own_requests,
            "cancellation_cutoff_hours": spec.rules.cancellation_cutoff_hours,
            "interval_months": spec.follow_up.interval_months,
            "mandatory": spec.follow_up.mandatory,
            "window_days": spec.follow_up.window_days,
            "sessions_per_year": spec.follow_up.sessions_per_year,
            "renewal_rule": spec.follow_up.renewal_rule,
            "rules_from": None,
            "registration_format": spec.numbers.registration_format,
            "registration_prefix": spec.numbers.registration_prefix,
            "completion_format": spec.numbers.completion_format,
            "card_design": spec.card.design,
            "show_holder_name_on_verify": spec.card.show_holder_name_on_verify,
            "contact_phone": spec.contact.phone or "",
            "contact_email": spec.contact.email or "",
        }
    )


@bp.route("/<code>/edit", methods=["GET", "POST"])
def edit(code: str) -> ResponseReturnValue:
    program = _program(code)
    spec = spec_from_program(db.session, program, rules_on_day=today_in_japan())
    form = _rules_form()
    if request.method == "POST":
        require(can_change_programs(current_user))
        if form.validate_on_submit():
            changed = replace(
                spec,
                names=NamesSpec(
                    ja=form.name_ja.data or "",
                    en=form.name_en.data or "",
                    public_ja=form.public_name_ja.data or "",
                    public_en=form.public_name_en.data or "",
                ),
                rules=RulesSpec(
                    eligibility=form.eligibility.data or "",
                    registration=form.registration.data or "",
                    activity_reports_required=bool(form.activity_reports_required.data),
                    dispatch_mode=form.dispatch_mode.data or "",
                    cancellation_cutoff_hours=form.cancellation_cutoff_hours.data or 0,
                    participation_without_registration=bool(
                        form.participation_without_registration.data
                    ),
                    staff_own_requests=bool(form.staff_own_requests.data),
                ),
                follow_up=FollowUpSpec(
                    interval_months=form.interval_months.data,
                    mandatory=bool(form.mandatory.data),
                    window_days=form.window_days.data or 0,
                    sessions_per_year=form.sessions_per_year.data,
                    renewal_rule=form.renewal_rule.data or "",
                    effective_from=form.rules_from.data,  # empty: from today
                ),
                numbers=NumbersSpec(
                    registration_format=(form.registration_format.data or "").strip(),
                    registration_prefix=(form.registration_prefix.data or "").strip(),
                    completion_format=(form.completion_format.data or "").strip(),
                ),
                card=CardSpec(
                    design=form.card_design.data or "",
                    show_holder_name_on_verify=bool(form.show_holder_name_on_verify.data),
                ),
                contact=ContactSpec(
                    phone=(form.contact_phone.data or "").strip() or None,
                    email=(form.contact_email.data or "").strip() or None,
                ),
            )
            outcome = save(lambda: _apply(changed, form, RULE_FIELDS), form=form)
            if outcome:
                _saved(outcome.value or 0)
                return redirect(url_for("administration.edit", code=program.code))
        return _page("edit.html", program, form=form, upload=ProgramFileForm()), 400
    _fill_rules(form, spec)
    return _page("edit.html", program, form=form, upload=ProgramFileForm())


@bp.get("/<code>/program.toml")
def download(code: str) -> Response:
    """The program's file (seals stay on the page: the file command exports them)."""
    program = _program(code)
    text = write_program_file(spec_from_program(db.session, program))
    return Response(
        text,
        mimetype="application/toml",
        headers={"Content-Disposition": f"attachment; filename={program.code}.toml"},
    )


def _uploaded_spec(form: ProgramFileForm) -> ProgramSpec:
    upload = form.file.data
    data = upload.read(PROGRAM_FILE_MAX_BYTES + 1) if upload else b""
    if not data:
        raise ServiceError("file", _("Choose a file."), code="program_file_missing")
    if len(data) > PROGRAM_FILE_MAX_BYTES:
        raise ServiceError("file", _("The file is too large."), code="program_file_too_large")
    try:
        return parse_program_file(decode_program_file(data))
    except FileProblems as refused:
        raise _refusal(refused.problems) from None


def _refusal(problems: list[Problem]) -> ServiceError:
    return ServiceError("file", " / ".join(str(p) for p in problems), code="program_file_invalid")


def _import(form: ProgramFileForm, *, code: str | None) -> tuple[str, int]:
    spec = _uploaded_spec(form)
    if code is None and get_program_by_code(db.session, spec.code) is not None:
        raise ServiceError(
            "file",
            _("Program %(c)s exists: upload its file on its page.", c=spec.code),
            code="program_exists",
        )
    if code is not None and spec.code != code:
        raise ServiceError(
            "file",
            _("This file is for program %(c)s.", c=spec.code),
            code="program_file_other_program",
        )
    try:
        changes = apply_program_spec(db.session, spec, actor=current_user)
    except FileProblems as refused:
        raise _refusal(refused.problems) from None
    return spec.code, len(changes)


@bp.post("/<code>/upload")
def upload(code: str) -> ResponseReturnValue:
    """Change the program from its file, all or nothing."""
    program = _program(code)
    require(can_change_programs(current_user))
    form = ProgramFileForm()
    if form.validate_on_submit():
        outcome = save(lambda: _import(form, code=program.code), form=form)
        if outcome:
            _saved(outcome.value[1] if outcome.value else 0)
            return redirect(url_for("administration.edit", code=program.code))
    rules = _rules_form()
    _fill_rules(rules, spec_from_program(db.session, program))
    return _page("edit.html", program, form=rules, upload=form), 400


@bp.route("/new", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    """A new program, from its file."""
    require(can_change_programs(current_user))
    form = ProgramFileForm()
    if form.validate_on_submit():
        outcome = save(lambda: _import(form, code=None), form=form)
        if outcome and outcome.value:
            _saved(outcome.value[1])
            return redirect(url_for("administration.edit", code=outcome.value[0]))
        return render_template("administration/new.html", form=form), 400
    return render_template("administration/new.html", form=form)


# --- organisations ---------------------------------------------------------------------------


@bp.route("/<code>/organisations", methods=["GET", "POST"])
def organisations(code: str) -> ResponseReturnValue:
    """The program's organisations; the form adds one or changes the one of that name."""
    program = _program(code)
    spec = spec_from_program(db.session, program)
    form = OrganisationForm()
    if request.method == "POST":
        require(can_change_programs(current_user))
        if form.validate_on_submit():
            name = (form.name.data or "").strip()
            entry = OrganisationSpec(
                name=name,
                kind=form.kind.data or "",
                name_en=(form.name_en.data or "").strip() or None,
                municipality=(form.municipality.data or "").strip() or None,
            )
            kept = [o for o in spec.organisations if o.name != name]
            index = next((i for i, o in enumerate(spec.organisations) if o.name == name), None)
            listed = [*kept, entry] if index is None else [*kept[:index], entry, *kept[index:]]
            changed = replace(spec, organisations=listed)
            fields = {"*.name": "name", "*.kind": "kind", "*.municipality": "municipality"}
            outcome = save(lambda: _apply(changed, form, fields), form=form)
            if outcome:
                _saved(outcome.value or 0)
                return redirect(url_for("administration.organisations", code=program.code))
        return _organisations_page(program, spec, form), 400
    chosen = next((o for o in spec.organisations if o.name == request.args.get("name")), None)
    if chosen is not None:
        form.process(data=vars(chosen))
    return _organisations_page(program, spec, form)


def _organisations_page(program: Program, spec: ProgramSpec, form: OrganisationForm) -> str:
    return _page(
        "organisations.html",
        program,
        spec=spec,
        form=form,
        kind_labels=KIND_LABELS,
    )


# --- scheme municipalities --------------------------------------------------------------------


@bp.route("/<code>/scheme", methods=["GET", "POST"])
def scheme(code: str) -> ResponseReturnValue:
    """The municipalities in the dispatch scheme; the form adds one or changes it."""
    program = _program(code)
    spec = spec_from_program(db.session, program)
    form = SchemeForm()
    if request.method == "POST":
        require(can_change_programs(current_user))
        if form.validate_on_submit():
            entry = SchemeMunicipalitySpec(
                municipality=(form.municipality.data or "").strip(),
                joined_on=form.joined_on.data,
                left_on=form.left_on.data,
                paid=bool(form.paid.data),
                honorarium_yen=form.honorarium_yen.data,
                travel_rule=form.travel_rule.data or None,
            )
            changed = replace(spec, scheme=_with_member(db.session, spec, entry))
            fields = {
                "*.municipality": "municipality",
                "*.until": "left_on",
                "*.paid": "honorarium_yen",  # a tick box shows no message
                "*.honorarium_yen": "honorarium_yen",
                "*.travel_rule": "travel_rule",
            }
            outcome = save(lambda: _apply(changed, form, fields), form=form)
            if outcome:
                _saved(outcome.value or 0)
                return redirect(url_for("administration.scheme", code=program.code))
        return _scheme_page(program, spec, form), 400
    chosen = next((m for m in spec.scheme if m.municipality == request.args.get("name")), None)
    if chosen is not None:
        form.process(data=vars(chosen))
    return _scheme_page(program, spec, form)


def _with_member(
    session: Any, spec: ProgramSpec, entry: SchemeMunicipalitySpec
) -> list[SchemeMunicipalitySpec]:
    """The scheme with `entry` added, or in place of the member it names (as spelt or read)."""
    from supporters.programs.services import find_municipality

    name = entry.municipality
    with suppress(ServiceError):  # an unknown name: validation names it
        name = find_municipality(session, name, prefecture=spec.prefecture).name
    entry = replace(entry, municipality=name)
    listed = [entry if m.municipality == name else m for m in spec.scheme]
    return listed if entry in listed else [*listed, entry]


def _scheme_page(program: Program, spec: ProgramSpec, form: SchemeForm) -> str:
    return _page("scheme.html", program, spec=spec, form=form, travel_labels=TRAVEL_LABELS)


# --- curricula ---------------------------------------------------------------------------------

_LINE = re.compile(r"^(?P<minutes>\d{1,3})\s+(?P<topic>.+?)(?P<optional>\s*[(（]任意[)）])?$")


def curriculum_text(items: list[CurriculumItemSpec]) -> str:
    return "\n".join(
        f"{item.minutes} {item.topic}{'' if item.required else ' (任意)'}" for item in items
    )


def curriculum_items(kind: str, text: str) -> tuple[list[CurriculumItemSpec], list[Problem]]:
    """One session a line: "90 ひきこもりの理解", an optional one ending "(任意)"."""
    items, problems = [], []
    for number, raw in enumerate(line for line in text.splitlines() if line.strip()):
        match = _LINE.match(raw.strip())
        if match is None:
            problems.append(
                Problem(
                    f"curricula.{kind}[{number}]",
                    str(_l('Write minutes, then the topic: "90 ひきこもりの理解".')),
                )
            )
            continue
        items.append(
            CurriculumItemSpec(
                topic=match.group("topic").strip(),
                minutes=int(match.group("minutes")),
                required=match.group("optional") is None,
            )
        )
    return items, problems


@bp.route("/<code>/curricula", methods=["GET", "POST"])
def curricula(code: str) -> ResponseReturnValue:
    program = _program(code)
    spec = spec_from_program(db.session, program)
    form = CurriculaForm()
    if request.method == "POST":
        require(can_change_programs(current_user))
        if form.validate_on_submit():
            lists: dict[str, list[CurriculumItemSpec]] = {}
            problems: list[Problem] = []
            for kind in CURRICULUM_KINDS:
                items, wrong = curriculum_items(kind, getattr(form, kind).data or "")
                lists[kind] = items
                problems += wrong
            for problem in problems:
                field = getattr(form, problem.key.split(".")[1].split("[")[0])
                field.errors = [*field.errors, problem.message]
            if not problems:
                changed = replace(spec, curricula=CurriculaSpec(**lists))
                fields = {f"curricula.{kind}": kind for kind in CURRICULUM_KINDS}
                outcome = save(lambda: _apply(changed, form, fields), form=form)
                if outcome:
                    _saved(outcome.value or 0)
                    return redirect(url_for("administration.curricula", code=program.code))
        return _page("curricula.html", program, form=form), 400
    form.process(
        data={kind: curriculum_text(getattr(spec.curricula, kind)) for kind in CURRICULUM_KINDS}
    )
    return _page("curricula.html", program, form=form)


# --- attributes ---------------------------------------------------------------------------------


@bp.route("/<code>/attributes", methods=["GET", "POST"])
def attributes(code: str) -> ResponseReturnValue:
    """The trainee attributes as the program words them and the reporting group each is
    counted in (the program file's `[attributes]`, docs/programs.md). The form adds one, or
    changes or retires the one `?code=` names; nothing is removed (enrolments record it)."""
    program = _program(code)
    if request.method == "POST":
        require(can_change_programs(current_user))
        # One change of the program's settings at a time, each reading what the one before
        # it committed (the program row locked and read again): the same add sent from two
        # pages at once is made and audited once, and nothing the other wrote is undone.
        db.session.refresh(program, with_for_update=True)
    spec = spec_from_program(db.session, program)
    chosen_code = request.args.get("code")
    chosen = next((a for a in spec.attributes if a.code == chosen_code), None)
    form = AttributeForm()
    form.reporting_group.choices = _choices_of_groups()
    if request.method == "POST":
        if chosen_code is not None and chosen is None:
            abort(404)
        if chosen is not None:
            form.code.data = chosen.code  # the code cannot change: enrolments record it
        if form.validate_on_submit():
            entry = AttributeSpec(
                code=fold(form.code.data).lower().replace(" ", ""),
                label_ja=form.label_ja.data or "",
                label_en=form.label_en.data or "",
                reporting_group=form.reporting_group.data or "",
                active=not form.retired.data,
            )
            listed = with_attribute(spec.attributes, entry, chosen, form.order.data)
            changed = replace(spec, attributes=listed)
            key = f"attributes.{entry.code}"
            fields = {
                key: "code",
                f"{key}.label_ja": "label_ja",
                f"{key}.label_en": "label_en",
                f"{key}.reporting_group": "reporting_group",
            }
            outcome = save(lambda: _apply(changed, form, fields), form=form)
            if outcome:
                _saved(outcome.value or 0)
                return redirect(url_for("administration.attributes", code=program.code))
        return _attributes_page(program, spec, form, chosen), 400
    if chosen is not None:
        form.process(
            data={
                **vars(chosen),
                "order": spec.attributes.index(chosen) + 1,
                "retired": not chosen.active,
            }
        )
    return _attributes_page(program, spec, form, chosen)


def with_attribute(
    listed: list[AttributeSpec],
    entry: AttributeSpec,
    chosen: AttributeSpec | None,
    position: int | None,
) -> list[AttributeSpec]:
    """The attributes with `entry` in place of `chosen` (a change), or added (a new one; the
    same as one there already is that one, unchanged: a form sent again changes nothing;
    another with its code is added, and validation names the code twice). At `position`
    (from 1), else where it was (a change) or at the end."""
    if chosen is None:
        chosen = next((a for a in listed if a == entry), None)
    rest = [a for a in listed if a is not chosen]
    if position is None:
        position = listed.index(chosen) + 1 if chosen is not None else len(rest) + 1
    index = min(max(position, 1), len(rest) + 1) - 1
    return [*rest[:index], entry, *rest[index:]]


def _choices_of_groups() -> list[SelectChoice]:
    return [SelectChoice(group, ATTRIBUTE_LABELS[group]) for group in REPORTING_GROUPS]


def _attributes_page(
    program: Program, spec: ProgramSpec, form: AttributeForm, chosen: AttributeSpec | None
) -> str:
    return _page(
        "attributes.html",
        program,
        spec=spec,
        form=form,
        chosen=chosen,
        groups=ATTRIBUTE_LABELS,
    )
