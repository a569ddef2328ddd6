"""The layers run one way (docs/architecture.md): the import-linter contract in pyproject.toml
holds for the package, and it does catch a back-import, so a green run means something."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
    )


def test_the_package_keeps_to_its_layers() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Layers, one way KEPT" in result.stdout


def test_a_lower_package_importing_a_higher_one_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(
        ROOT / "supporters", tmp_path / "supporters", ignore=shutil.ignore_patterns("*.mo")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    services = tmp_path / "supporters" / "programs" / "services.py"
    services.write_text(
        services.read_text(encoding="utf-8") + "\nfrom supporters.dispatch import models\n",
        encoding="utf-8",
    )
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "supporters.programs is not allowed to import supporters.dispatch" in result.stdout
