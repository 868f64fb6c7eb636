"""Shared fixtures. The tests need the installed package (scripts/setup.sh builds it into build/pyenv)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

leann = pytest.importorskip("leann", reason="the leann package is not installed (scripts/setup.sh installs it)")

REPO = Path(__file__).resolve().parents[3]
TINY_MODEL = REPO / "tests" / "golden" / "embeddings" / "tiny_models" / "tiny-cls-norm"


def pytest_sessionstart(session):
    # The tests run against the installed package: refuse to test an installation older than the sources.
    installed = Path(leann.__file__).parent
    sources = REPO / "bindings" / "python" / "leann"
    stale = [p.name for p in sources.glob("*.py")
             if not (installed / p.name).is_file() or (installed / p.name).read_bytes() != p.read_bytes()]
    if stale and installed.resolve() != sources.resolve():
        pytest.exit(f"the installed leann package ({installed}) differs from the sources in {', '.join(stale)}: "
                    f"reinstall it (scripts/setup.sh, or pip install {REPO})", returncode=1)


@pytest.fixture(scope="session")
def tiny_model() -> str:
    """A random-weight 32-dim BERT: fast; identical texts embed identically, so exact-text queries find their
    record, but nothing semantic."""
    assert TINY_MODEL.is_dir(), TINY_MODEL
    return os.fspath(TINY_MODEL)


@pytest.fixture(scope="session")
def real_model() -> str:
    """The default model (all-MiniLM-L6-v2), for tests that need meaning."""
    try:
        return leann.resolve_model(leann.default_model_name)
    except leann.ModelError as error:
        pytest.skip(f"the default model is not installed (scripts/fetch_model.sh): {error}")
