"""Revisions are frozen: none imports app code (a revision must do forever what it did when
it was written, whatever the app later becomes), and revision 0003's frozen copy of the
webhook sealing format still seals and opens compatibly with ``app.webhooks.sealing``."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from cryptography.fernet import Fernet
from pydantic import SecretStr

from app.config import Settings
from app.webhooks import sealing
from tests.source import syntax_tree

VERSIONS = Path(__file__).resolve().parents[1] / "migrations" / "versions"


def _app_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(syntax_tree(path)):
        names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        found += [f"{path.name}:{node.lineno} imports {name}" for name in names
                  if name == "app" or name.startswith("app.")]
    return found


def test_no_revision_imports_app_code():
    revisions = sorted(VERSIONS.glob("*.py"))
    assert len(revisions) > 10
    assert [line for path in revisions for line in _app_imports(path)] == []


def test_the_scan_sees_imports_inside_functions(tmp_path):
    revision = tmp_path / "0099_example.py"
    revision.write_text("def upgrade():\n    from app.config import get_settings\n")
    assert _app_imports(revision) == ["0099_example.py:2 imports app.config"]


def _revision_0003():
    (path,) = VERSIONS.glob("0003_*.py")
    spec = importlib.util.spec_from_file_location("revision_0003", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_0003_derives_the_same_keys_as_the_app():
    frozen = _revision_0003()
    secret = "a-deployment-secret-of-at-least-32-characters"
    assert frozen.derived_key(secret) == sealing.derived_key(secret)
    assert frozen.keys_from(secret, []) == sealing.keys_of(
        Settings(secret_key=secret, webhook_sealing_keys=[]))
    configured = [Fernet.generate_key().decode(), Fernet.generate_key().decode()]
    settings = Settings(secret_key=secret,
                        webhook_sealing_keys=[SecretStr(k) for k in configured])
    assert frozen.keys_from(secret, configured) == sealing.keys_of(settings)


def test_0003_seals_what_the_app_opens_and_opens_what_the_app_seals():
    frozen = _revision_0003()
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    assert frozen.PREFIX == sealing.PREFIX
    assert sealing.unseal(frozen.seal("whsec_one", [old]), [new, old]) == "whsec_one"
    assert frozen.unseal(sealing.seal("whsec_two", [new, old]), [old, new]) == "whsec_two"
