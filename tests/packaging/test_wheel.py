"""The wheel as a user installs it: one import name, its own data, nothing read from outside.

Builds the wheel from this checkout, installs it into a fresh virtualenv (its dependencies
come from the test run's environment, without this checkout's editable install), and runs
it from a project that has its own `api`, `ledger` and `migrations` packages.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: One worker builds the wheel.
pytestmark = pytest.mark.xdist_group("wheel")
#: What the wheel is not built from (pip builds in a copy: never in the checkout's build/).
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv*", "build", "*.egg-info", "__pycache__", "*.db", ".hypothesis", ".schemathesis"
)
USER_PACKAGES = ("api", "ledger", "projections", "migrations")


def _run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = tmp_path_factory.mktemp("source") / "evalledger"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    _run(
        sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "-w", out, source,
    )  # fmt: skip
    return next(out.glob("evalledger-*.whl"))


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the wheel in it; returns its bin/ folder."""
    venv = tmp_path_factory.mktemp("venv")
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    site = Path(
        _run(
            venv / "bin/python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        ).strip()
    )
    # the dependencies, from this environment (a .pth there is not run: no editable finder)
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(
        sys.executable, "-m", "pip", "--python", venv / "bin/python", "install", "--quiet",
        "--no-deps", "--no-index", wheel,
    )  # fmt: skip
    return venv / "bin"


@pytest.fixture
def user_project(tmp_path: Path) -> Path:
    """A project with its own packages named like the repository's folders."""
    for name in USER_PACKAGES:
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text(f"OWNER = 'the user: {name}'\n")
    (tmp_path / "migrations" / "env.py").write_text("raise SystemExit('user migrations ran')\n")
    return tmp_path


def _clean_env(project: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALLEDGER_", "PYTHON"))}
    env["PYTHONPATH"] = str(project)  # the user's own packages are importable
    return env


def test_the_wheel_installs_one_top_level_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"evalledger", wheel.name.split("-py3")[0] + ".dist-info"}
    for needed in (
        "evalledger/py.typed",
        "evalledger/demo/data/mlflow_traces.jsonl",
        "evalledger/migrations/script.py.mako",
        "evalledger/migrations/versions/0001_ledger.py",
    ):
        assert needed in names


@pytest.mark.slow
def test_the_installed_demo_runs_every_flow_beside_the_users_own_packages(
    installed: Path, user_project: Path
) -> None:
    env = _clean_env(user_project)
    out = _run(installed / "evalledger", "demo", cwd=user_project, env=env)
    assert "30 traces, 30 new" in out  # the trace flows ran, on the packaged traces
    assert "trace demo done" in out and "demo done: dataset customer_support_qa" in out
    assert (user_project / "evalledger.db").is_file()
    again = _run(installed / "evalledger", "demo", cwd=user_project, env=env)
    assert "30 traces, 0 new" in again
    shown = _run(
        installed / "python",
        "-c",
        "import api, ledger, migrations, evalledger; "
        "print(api.OWNER, ledger.OWNER, migrations.OWNER, evalledger.__version__)",
        cwd=user_project,
        env=env,
    )
    assert shown.split()[:6] == ["the", "user:", "api", "the", "user:", "ledger"]
    assert _run(installed / "evalledger", "--version", env=env).startswith("evalledger ")


@pytest.mark.slow
def test_the_installed_library_reads_nothing_outside_the_package(
    installed: Path, user_project: Path
) -> None:
    code = (
        "import evalledger as el\n"
        "from evalledger.demo.traces import FIXTURE\n"
        "assert FIXTURE.is_file() and 'site-packages' in str(FIXTURE), FIXTURE\n"
        "c = el.Client('sqlite:///x.db', user='u')\n"
        "ds = c.create_dataset('d')\n"
        "ds.merge_records([{'inputs': {'q': 1}}])\n"
        "print(ds.version, ds.num_records, ds.created_by)\n"
    )
    out = _run(installed / "python", "-c", code, cwd=user_project, env=_clean_env(user_project))
    assert out.split() == ["1", "1", "u"]
