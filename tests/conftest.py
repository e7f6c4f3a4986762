"""Shared fixtures: generated inputs, the shared corpus (skipped when absent), a manifest writer."""
from __future__ import annotations

import os
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.environ.get("TELECOM_ETL_CORPUS", os.path.join(os.path.dirname(ROOT), "shared", "corpus"))


def corpus_file(*parts: str) -> str:
    """Path of a file of ../shared/corpus, or skip the test with the reason."""
    path = os.path.join(CORPUS, *parts)
    if not os.path.exists(path):
        pytest.skip(f"shared corpus file not available: {path}")
    return path


@pytest.fixture
def write_manifest(tmp_path):
    def write(body: str, name: str = "manifest.yaml") -> str:
        path = tmp_path / name
        path.write_text(textwrap.dedent(body))
        return str(path)

    return write


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory):
    from telecom_etl.samples import make_sample

    root = tmp_path_factory.mktemp("sample")
    make_sample(str(root))
    return root
