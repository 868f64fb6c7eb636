"""`leann compare` (python -m leann.compare) and the C++ CLI's migrate/compare subcommands, which run the Python
package with $LEANN_PYTHON. The CLI tests need the built binary: ctest's python_package test passes its path in
$LEANN_CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import leann

chromadb = pytest.importorskip("chromadb", reason="chromadb is not installed (scripts/setup.sh installs it)")
from leann.compare import compare_chroma, format_table  # noqa: E402
from leann.migrate import migrate_chroma  # noqa: E402
from test_migrate import make_chroma  # noqa: E402


@pytest.fixture(scope="module")
def migrated(tmp_path_factory, tiny_model):
    root = tmp_path_factory.mktemp("compare")
    make_chroma(root / "chroma", leann.load_encoder(tiny_model), n=200)
    migrate_chroma(root / "chroma", output=root / "notes.leann", model=tiny_model, log=lambda *a: None)
    return root


def test_compare_side_by_side(migrated, tiny_model):
    c = compare_chroma(migrated / "chroma", os.fspath(migrated / "notes.leann"), k=10, queries=20, model=tiny_model)
    assert c.collection == "notes" and c.records == c.index_records == 200 and c.k == 10 and c.queries == 20
    assert c.chroma_bytes > 0 and c.index_bytes == (migrated / "notes.leann").stat().st_size
    assert c.recall_at_k >= 0.8 and c.sample_cosine_min >= 0.999
    assert 0 < c.chroma_p50_ms <= c.chroma_p95_ms and 0 < c.leann_p50_ms <= c.leann_p95_ms
    table = format_table(c)
    assert "recall@10 vs Chroma" in table and "size on disk" in table and "latency p95" in table


def test_compare_refuses_what_cannot_be_compared(tmp_path, migrated, tiny_model):
    with pytest.raises(leann.NotFoundError, match="no index at"):
        compare_chroma(migrated / "chroma", os.fspath(tmp_path / "none.leann"), model=tiny_model)
    with pytest.raises(leann.NotFoundError, match="no collection 'other'"):
        compare_chroma(migrated / "chroma", os.fspath(migrated / "notes.leann"), collection="other",
                       model=tiny_model)
    # Chroma's vectors from another model: recall would compare two models.
    make_chroma(tmp_path / "foreign", leann.load_encoder(tiny_model), n=30, matching=False)
    with pytest.raises(leann.Error, match="do not come from the index's model"):
        compare_chroma(tmp_path / "foreign", os.fspath(migrated / "notes.leann"), model=tiny_model)


def test_compare_command_line(migrated, tiny_model):
    done = subprocess.run([sys.executable, "-m", "leann.compare", "chroma", str(migrated / "chroma"), "--index",
                           str(migrated / "notes.leann"), "-k", "5", "--queries", "8", "--model", tiny_model,
                           "--json"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["k"] == 5 and report["queries"] == 8 and report["recall_at_k"] >= 0.8


# ---- the C++ CLI --------------------------------------------------------------------------------------------------

@pytest.fixture()
def cli():
    path = os.environ.get("LEANN_CLI")
    if not path:
        pytest.skip("LEANN_CLI is not set (ctest's python_package test sets it to the built leann binary)")
    if not os.access(path, os.X_OK):
        pytest.skip(f"LEANN_CLI={path} is not an executable")
    return path


def _hiding(tmp_path, package):
    """Environment of a Python that cannot import `package` (a sitecustomize marks it missing)."""
    folder = tmp_path / f"without-{package}"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(f"import sys\nsys.modules[{package!r}] = None\n")
    return {**os.environ, "LEANN_PYTHON": sys.executable, "PYTHONPATH": os.fspath(folder)}


@pytest.mark.parametrize("command", ["migrate", "compare"])
def test_cli_says_what_to_install(cli, tmp_path, command):
    args = [cli, command, "chroma", os.fspath(tmp_path)] + (["--index", "x"] if command == "compare" else [])
    missing = subprocess.run(args, capture_output=True, text=True, timeout=120,
                             env={**os.environ, "LEANN_PYTHON": os.fspath(tmp_path / "no-such-python")})
    assert missing.returncode == 1 and "cannot run Python" in missing.stderr
    assert "pip install leann chromadb" in missing.stderr and "LEANN_PYTHON" in missing.stderr
    for package in ("leann", "chromadb"):
        done = subprocess.run(args, capture_output=True, text=True, timeout=120, env=_hiding(tmp_path, package))
        assert done.returncode == 1, done.stderr
        assert f"has no {package} package" in done.stderr and f"pip install {package}" in done.stderr
        assert "Traceback" not in done.stderr
    usage = subprocess.run([cli, command, "--help"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 0 and f"leann {command} chroma PATH" in usage.stdout


def test_cli_migrate_and_compare(cli, tmp_path, tiny_model):
    make_chroma(tmp_path / "chroma", leann.load_encoder(tiny_model), n=60)
    env = {**os.environ, "LEANN_PYTHON": sys.executable}
    target = tmp_path / "cli.leann"
    migrated = subprocess.run([cli, "migrate", "chroma", os.fspath(tmp_path / "chroma"), "--collection", "notes",
                               "--output", os.fspath(target), "--model", tiny_model, "--json"],
                              capture_output=True, text=True, timeout=600, env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert json.loads(migrated.stdout)["records"] == 60 and target.is_file()
    compared = subprocess.run([cli, "compare", "chroma", os.fspath(tmp_path / "chroma"), "--index", os.fspath(target),
                               "--queries", "6", "--model", tiny_model], capture_output=True, text=True, timeout=600,
                              env=env)
    assert compared.returncode == 0, compared.stderr
    assert "recall@10 vs Chroma" in compared.stdout and "LEANN" in compared.stdout
    # The Python module's own errors come through with its exit status, without a traceback.
    failed = subprocess.run([cli, "migrate", "chroma", os.fspath(tmp_path / "nowhere")], capture_output=True,
                            text=True, timeout=600, env=env)
    assert failed.returncode == 1 and "is not a folder" in failed.stderr and "Traceback" not in failed.stderr
