"""Maps the repository's top-level folders onto the ``telecom_etl`` namespace.

``core/`` is ``telecom_etl`` itself; ``extractors/``, ``filters/``, ``pipelines/`` and
``synth/`` become ``telecom_etl.extractors`` and so on, so nothing generic such as
``filters`` lands in site-packages. Beam's ``--setup_file`` points here to package the
toolkit for remote workers (Dataflow).
"""
import os

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))
FOLDERS = {"telecom_etl": "core", "telecom_etl.extractors": "extractors",
           "telecom_etl.filters": "filters", "telecom_etl.pipelines": "pipelines",
           "telecom_etl.synth": "synth"}


def _packages():
    packages, package_dir = [], {}
    for package, folder in FOLDERS.items():
        for root, dirs, files in os.walk(os.path.join(HERE, folder)):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
            if "__init__.py" not in files:
                continue
            rel = os.path.relpath(root, HERE)
            sub = os.path.relpath(root, os.path.join(HERE, folder))
            name = package if sub == "." else package + "." + sub.replace(os.sep, ".")
            packages.append(name)
            package_dir[name] = rel
    return packages, package_dir


PACKAGES, PACKAGE_DIR = _packages()

setup(
    packages=PACKAGES,
    package_dir=PACKAGE_DIR,
    package_data={name: ["*.txt", "*.json", "*.yaml", "*.tsv", "data/*"] for name in PACKAGES},
    include_package_data=True,
)
