"""Static checks: bandit over the code, and an audit of the packages a site runs.

bandit: every finding is either fixed or marked in place (``# nosec BXXX - why``), so a
new finding fails here. The dependency audit (pip-audit) checks the pinned versions of
what the appliance ships: the runtime dependencies with theirs, the PostgreSQL driver and
PyInstaller. Where the vulnerability database cannot be reached, the test is skipped and
says so (pytest -ra lists the reason), never passed silently.
"""

import importlib.metadata
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_EXTRAS = ("postgres", "build")


def test_bandit_finds_nothing_that_is_not_triaged():
    if shutil.which("bandit") is None:
        pytest.fail("bandit is not installed: tests/run.sh installs the test extras")
    result = subprocess.run(["bandit", "-r", "webcrypt", "webcrypt.py", "-q", "-f", "json"], cwd=ROOT,
                            capture_output=True, text=True)
    report = json.loads(result.stdout)
    findings = [f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}" for r in report["results"]]
    assert findings == [], "untriaged bandit findings (fix, or mark '# nosec BXXX - why'):\n" + "\n".join(findings)
    assert not report["errors"], report["errors"]


def shipped_packages() -> dict[str, str]:
    """name -> installed version of everything webcrypt ships, found from its metadata: the runtime
    and PostgreSQL dependencies with theirs, and PyInstaller (its own dependencies only build)."""
    found = _closure(_requirements("webcrypt", "") + _requirements("webcrypt", "postgres"))
    for requirement in _requirements("webcrypt", "build"):
        found.setdefault(_name(requirement), importlib.metadata.version(requirement.name))
    return found


def _closure(wanted: list[Requirement]) -> dict[str, str]:
    found: dict[str, str] = {}
    while wanted:
        requirement = wanted.pop()
        if _name(requirement) not in found:
            found[_name(requirement)] = importlib.metadata.version(requirement.name)
            wanted += _requirements(requirement.name, "")
    return found


def _requirements(package: str, extra: str) -> list[Requirement]:
    requirements = [Requirement(text) for text in importlib.metadata.requires(package) or []]
    if extra:  # only what the extra adds
        return [r for r in requirements if r.marker and r.marker.evaluate({"extra": extra})
                and not r.marker.evaluate({"extra": ""})]
    return [r for r in requirements if not r.marker or r.marker.evaluate({"extra": ""})]


def _name(requirement: Requirement) -> str:
    return requirement.name.lower().replace("_", "-")


def test_shipped_packages_have_no_known_vulnerabilities(tmp_path):
    if shutil.which("pip-audit") is None:
        pytest.fail("pip-audit is not installed: tests/run.sh installs the test extras")
    packages = shipped_packages()
    assert {"bottle", "waitress", "peewee", "pycryptodome", "nh3", "aiosmtpd", "psycopg2-binary"} <= set(packages)
    pins = tmp_path / "shipped.txt"
    pins.write_text("".join(f"{name}=={version}\n" for name, version in sorted(packages.items())))
    result = subprocess.run(["pip-audit", "-r", str(pins), "--no-deps", "--disable-pip", "-s", "pypi", "-f", "json",
                             "--progress-spinner", "off"], capture_output=True, text=True, timeout=600)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        pytest.skip(f"dependency audit not possible here: {(result.stderr.strip().splitlines() or ['no answer'])[-1]}")
    dependencies = report["dependencies"]
    unaudited = [d["name"] for d in dependencies if d.get("skip_reason")]
    vulnerable = [f"{d['name']} {d['version']}: {', '.join(v['id'] for v in d['vulns'])}"
                  for d in dependencies if d.get("vulns")]
    assert vulnerable == [], "known vulnerabilities in shipped packages:\n" + "\n".join(vulnerable)
    if unaudited:
        pytest.skip(f"dependency audit incomplete: the vulnerability database could not be reached for "
                    f"{len(unaudited)} of {len(dependencies)} shipped packages ({', '.join(sorted(unaudited)[:5])}, ...)")


def test_the_audit_finds_a_known_vulnerability(tmp_path):
    """The audit can fail: an old waitress with published advisories is reported (when the database answers)."""
    pins = tmp_path / "old.txt"
    pins.write_text("waitress==2.1.0\n")
    result = subprocess.run([sys.executable, "-m", "pip_audit", "-r", str(pins), "--no-deps", "--disable-pip",
                             "-s", "pypi", "-f", "json", "--progress-spinner", "off"],
                            capture_output=True, text=True, timeout=600)
    report = json.loads(result.stdout or '{"dependencies": []}')
    (waitress,) = report["dependencies"] or [{"skip_reason": result.stderr.strip()[-200:] or "no answer"}]
    if waitress.get("skip_reason"):
        pytest.skip(f"vulnerability database not reachable: {waitress['skip_reason'][:200]}")
    assert waitress["vulns"], "waitress 2.1.0 has published advisories (e.g. PYSEC-2022-...); the audit saw none"
