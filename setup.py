"""Only what pyproject.toml cannot say: the top-level ``migrations/`` folder (where Alembic
and the project's layout keep it) ships inside the package as ``app.migrations``, so that
an installed Whistle finds its migrations wherever it runs (``app.migrate``). New packages
under ``app/`` are found as before."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["app", "app.*"]), "app.migrations", "app.migrations.versions"],
    package_dir={"app.migrations": "migrations"},
)
