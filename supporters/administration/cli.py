"""`programs list [--format text|json]`, `programs export CODE -o FILE.toml`,
`programs import FILE.toml [--dry-run]` (docs/programs.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from supporters.administration.services import (
    apply_program_spec,
    seals_of,
    spec_from_program,
)
from supporters.administration.spec import (
    FileProblems,
    decode_program_file,
    parse_program_file,
    write_program_file,
)
from supporters.extensions import db
from supporters.programs.services import get_program_by_code, list_programs

programs_cli = AppGroup("programs", help="Programs as files: list, export, import.")


def register(app: Flask) -> None:
    app.cli.add_command(programs_cli)


@programs_cli.command("list")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text")
def list_command(output: str) -> None:
    """Every program: code, prefecture and name."""
    programs = list_programs(db.session, None)
    rows = [
        {"code": p.code, "prefecture": p.prefecture, "name_ja": p.name_ja, "name_en": p.name_en}
        for p in programs
    ]
    if output == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['code']}\t{row['prefecture']}\t{row['name_ja']}")


@programs_cli.command("export")
@click.argument("code")
@click.option("-o", "--output", "target", type=click.Path(path_type=Path), required=True)
def export_command(code: str, target: Path) -> None:
    """Write program CODE as a TOML file; seals go beside it (FILE-seal-N.png)."""
    program = get_program_by_code(db.session, code)
    if program is None:
        raise click.ClickException(f"no program {code}")
    spec = spec_from_program(db.session, program)
    references = {}
    for index, (name, data) in enumerate(sorted(seals_of(db.session, program).items()), 1):
        seal = target.with_name(f"{target.stem}-seal-{index}.png")
        seal.write_bytes(data)
        references[name] = seal.name
    target.write_text(write_program_file(spec, seals=references), encoding="utf-8")
    click.echo(f"{program.code} -> {target}")


@programs_cli.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print what would change; write nothing.")
def import_command(source: Path, dry_run: bool) -> None:
    """Create or change a program from a TOML file, all or nothing; the same file twice
    changes nothing. A bad file is refused naming each wrong key."""
    try:
        spec = parse_program_file(decode_program_file(source.read_bytes()))
        changes = apply_program_spec(
            db.session, spec, actor=None, base_dir=source.parent, dry_run=dry_run
        )
    except FileProblems as refused:
        db.session.rollback()
        for problem in refused.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1) from None
    for change in changes:
        click.echo(str(change))
    if dry_run:
        db.session.rollback()
        click.echo(f"{spec.code}: {len(changes)} change(s) (dry run: nothing written)")
        return
    db.session.commit()
    click.echo(f"{spec.code}: {len(changes)} change(s)")
