"""Reading the service's own source as syntax trees, for the tests that scan it.

CPython 3.11.7 (this machine's) can fail ``ast.parse`` with "SystemError: AST constructor
recursion depth mismatch" when a garbage collection runs Python finalizers in the middle of
the conversion (gh-106905, fixed in 3.11.8): seen once in CI, after the suite's async tests
had left connections and greenlets to collect. No collection runs while a tree is built.
"""

from __future__ import annotations

import ast
import gc
from pathlib import Path


def syntax_tree(path: Path) -> ast.Module:
    enabled = gc.isenabled()
    gc.disable()
    try:
        return ast.parse(path.read_text(encoding="utf-8"))
    finally:
        if enabled:
            gc.enable()
