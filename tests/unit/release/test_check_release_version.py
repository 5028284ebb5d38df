"""``scripts/check_release_version.py``: a release tag must be ``v<__version__>`` with a dated changelog section."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import airflow_provider_dailybot
from tests.conftest import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "check_release_version.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_release_version", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _load()


def _repo(root: Path, version: str = "1.2.3", changelog: str = "## 1.2.3 (2026-12-02)\n\n- Fixes.\n") -> Path:
    package = root / "airflow_provider_dailybot"
    package.mkdir(parents=True)
    init = f'"""Doc."""\n\nfrom __future__ import annotations\n\n__version__ = "{version}"\n'
    (package / "__init__.py").write_text(init)
    (root / "CHANGELOG.md").write_text("# Changelog\n\n## Unreleased\n\n- Next.\n\n" + changelog)
    return root


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = check.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_a_matching_tag_with_a_dated_section_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _repo(tmp_path)
    assert _run(capsys, "v1.2.3", "--root", str(root)) == (
        0,
        "v1.2.3: matches the package version and has a changelog section\n",
        "",
    )
    assert check.problems("refs/tags/v1.2.3", root) == []


@pytest.mark.parametrize("heading", ["## 1.2.3", "## [1.2.3] - 2026-12-02", "## v1.2.3 (2026-12-02)", "##  1.2.3  "])
def test_changelog_heading_forms(tmp_path: Path, heading: str) -> None:
    root = _repo(tmp_path, changelog=f"{heading}\n\n- Fixes.\n")
    assert check.problems("v1.2.3", root) == []


def test_a_tag_that_does_not_match_fails_naming_both(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _repo(tmp_path)
    for tag in ("v1.2.4", "1.2.3", "v1.2.3.post1"):
        status, out, err = _run(capsys, tag, "--root", str(root))
        assert status == 1
        assert out == ""
        assert err == (
            f"error: tag {tag!r} does not match the package version '1.2.3' "
            "(airflow_provider_dailybot/__init__.py): the tag must be 'v1.2.3', "
            "or change __version__ to match the tag\n"
        )


def test_a_missing_or_unreleased_section_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = _repo(tmp_path / "missing", changelog="## 1.2.2 (2026-11-01)\n\n- Old.\n## 1.2.30\n")
    status, _, err = _run(capsys, "v1.2.3", "--root", str(missing))
    assert status == 1
    assert err == ("error: CHANGELOG.md has no '## 1.2.3' section; add one with the release's changes before tagging\n")
    unreleased = _repo(tmp_path / "unreleased", changelog="## 1.2.3 (unreleased)\n\n- Soon.\n")
    status, _, err = _run(capsys, "v1.2.3", "--root", str(unreleased))
    assert status == 1
    assert "the section '## 1.2.3 (unreleased)' is still marked unreleased" in err


def test_both_problems_are_reported(tmp_path: Path) -> None:
    root = _repo(tmp_path, changelog="")
    found = check.problems("v9.9.9", root)
    assert len(found) == 2
    assert "does not match the package version '1.2.3'" in found[0]
    assert "no '## 1.2.3' section" in found[1]


def test_the_tag_comes_from_github_ref_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(tmp_path)
    monkeypatch.setenv("GITHUB_REF_NAME", "v1.2.3")
    assert _run(capsys, "--root", str(root))[0] == 0
    monkeypatch.setenv("GITHUB_REF_NAME", "v2.0.0")
    assert _run(capsys, "--root", str(root))[0] == 1
    monkeypatch.delenv("GITHUB_REF_NAME")
    with pytest.raises(SystemExit) as exit_info:
        check.main(["--root", str(root)])
    assert exit_info.value.code == 2
    assert "give the release tag, or set GITHUB_REF_NAME" in capsys.readouterr().err


def test_an_unreadable_version_fails_clearly(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    (root / "airflow_provider_dailybot" / "__init__.py").write_text("__version__ = get_version()\n")
    (found,) = check.problems("v1.2.3", root)
    assert found.startswith("cannot read the package version from airflow_provider_dailybot/__init__.py")


def test_reads_this_repositorys_version_without_importing_it() -> None:
    assert check.package_version(REPO_ROOT) == airflow_provider_dailybot.__version__


def test_runs_as_a_script(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "v0.0.1", "--root", str(root)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "error: tag 'v0.0.1' does not match the package version '1.2.3'" in done.stderr
