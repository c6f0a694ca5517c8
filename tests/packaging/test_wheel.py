"""The project as a user installs it: build the wheel, install it (not editable) into a fresh virtual environment,
and run `digit-lab` from a directory outside the repository. The page, a static file, the models and /predict
must all come from the installed package.

The new environment gets its dependencies from the test's own environment (a .pth file naming its
site-packages), so nothing is downloaded; the package itself comes only from the wheel.
"""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import PROJECT_ROOT, data_url, png_bytes
from tests.helpers import free_port, wait_until_ready

# What the build never needs from the checkout (and must not pick up stale copies of).
NOT_BUILT = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc",
                                   "test-artifacts", "data", ".pytest_cache", ".ruff_cache")


def test_every_python_package_is_listed_for_the_wheel() -> None:
    """pyproject.toml lists the packages by hand (it maps static/, templates/ and models/ into app/); a new
    sub-package left off that list would be missing from every installed copy."""
    listed = set(tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    inits = (PROJECT_ROOT / "app").rglob("__init__.py")
    found = {".".join(init.parent.relative_to(PROJECT_ROOT).parts) for init in inits}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


@dataclass(frozen=True)
class Installed:
    venv: Path
    elsewhere: Path  # a working directory outside the repository
    env: dict[str, str]

    @property
    def digit_lab(self) -> str:
        return str(self.venv / "bin" / "digit-lab")

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([self.digit_lab, *args], cwd=self.elsewhere, env=self.env, capture_output=True,
                              text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    shutil.copytree(PROJECT_ROOT, source, ignore=NOT_BUILT)  # a clean tree: no build/ left from an earlier build
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "--wheel-dir", str(root / "dist"), str(source)], check=True, capture_output=True, timeout=600)
    wheel = next((root / "dist").glob("digit_lab-*.whl"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = subprocess.run([str(venv / "bin" / "python"), "-c", where], check=True, capture_output=True,
                             text=True).stdout.strip()
    Path(purelib, "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--no-deps",
                    "--quiet", str(wheel)], check=True, capture_output=True, timeout=600)
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGIT_LAB_") and k != "PYTHONPATH"}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    return Installed(venv, elsewhere, env)


def test_the_package_imports_from_the_environment_not_the_checkout(installed: Installed) -> None:
    where = subprocess.run([str(installed.venv / "bin" / "python"), "-c", "import app; print(app.__file__)"],
                           cwd=installed.elsewhere, env=installed.env, capture_output=True, text=True, check=True)
    assert Path(where.stdout.strip()).is_relative_to(installed.venv), where.stdout


def test_the_wheel_carries_the_number_readers_own_models(installed: Installed) -> None:
    """Without them numbers are still read, by the rules alone, so nothing else would notice them missing."""
    check = ("from app.assets import asset_dir; from app.touching import load_detector; "
             "from app.pairs import load_pair_reader; models = asset_dir('models'); "
             "print(load_detector(models) is not None and load_pair_reader(models) is not None)")
    out = subprocess.run([str(installed.venv / "bin" / "python"), "-c", check], cwd=installed.elsewhere,
                         env=installed.env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True", out.stderr


@pytest.fixture(scope="module")
def served(installed: Installed) -> Iterator[str]:
    """`digit-lab serve` as an operator runs it: no options but the port, from outside the repository."""
    port = free_port()
    log = installed.elsewhere / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen([installed.digit_lab, "serve", "--port", str(port)], cwd=installed.elsewhere,
                                   env=installed.env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(process, f"{base}/readyz",
                         ready=lambda r: r.status_code == 200 and not r.json()["loading"],
                         describe=lambda: log.read_text()[-3000:])
        yield base
    finally:
        process.terminate()
        process.wait(timeout=60)


@pytest.mark.slow
def test_the_installed_server_serves_the_page_and_its_static_files(served: str) -> None:
    page = httpx.get(f"{served}/", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "<canvas" in page.text
    assets = re.findall(r'(?:href|src)="(/static/[^"?]+)', page.text)
    assert assets, "the page links no static files"
    for asset in assets:
        response = httpx.get(served + asset, timeout=10)
        assert response.status_code == 200 and response.content, asset


@pytest.mark.slow
def test_the_installed_server_serves_the_shipped_models(served: str, mnist) -> None:
    listed = httpx.get(f"{served}/models", timeout=60).json()
    shipped = {path.stem for path in (PROJECT_ROOT / "models").glob("*.json")}
    assert {model["id"] for model in listed["models"]} == shipped
    for index in range(5):
        digit, label = mnist.x_test[index], int(mnist.y_test[index])
        answer = httpx.post(f"{served}/predict", json={"image": data_url(png_bytes(digit))}, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json()["model"] == listed["default"] and answer.json()["digit"] == label


@pytest.mark.slow
def test_the_installed_command_trains_where_it_is_told(installed: Installed, mnist, tmp_path: Path) -> None:
    from tests.conftest import MNIST_DIR

    out = tmp_path / "trained"
    result = installed.run("train", "--model", "linear", "--out", str(out), "--data", str(MNIST_DIR),
                           "--epochs", "1", "--limit", "512", "--test-limit", "256")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (out / "linear.keras").is_file() and (out / "linear.json").is_file()
    assert not (installed.elsewhere / "models").exists()


def test_a_missing_models_directory_is_one_line_not_a_traceback(installed: Installed, tmp_path: Path) -> None:
    result = installed.run("serve", "--port", str(free_port()), "--model-dir", str(tmp_path / "nothing-here"),
                           timeout=300)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "digit-lab serve: cannot start: no model cards" in result.stderr


def test_the_benchmark_runs_from_the_wheel(installed: Installed) -> None:
    result = installed.run("bench", "--help", timeout=120)
    assert result.returncode == 0 and "RESULTS.md" in result.stdout
    imported = subprocess.run([str(installed.venv / "bin" / "python"), "-c",
                               "from app.benchmark.bench import CAPTURED_CANVAS; assert CAPTURED_CANVAS.is_file()"],
                              cwd=installed.elsewhere, env=installed.env, capture_output=True, text=True)
    assert imported.returncode == 0, imported.stderr

