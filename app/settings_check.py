"""Configuration errors a person can act on: one line per bad ``WHISTLE_…`` variable naming
it and the rule it breaks, never its value (it may be a secret), and a warning for every
``WHISTLE_…`` variable that no setting reads (a typo leaves a default in force silently).

``app.cli.main`` calls ``load_or_exit`` before any command runs.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import sys
from collections.abc import Mapping

from pydantic import ValidationError
from pydantic_settings import SettingsError

from app.config import Settings, get_settings

PREFIX = "WHISTLE_"
# Read by the test suite, not by the service.
NOT_SETTINGS = frozenset({"WHISTLE_TEST_DATABASE_URL"})
# The exit status of a command refused for its configuration (EX_CONFIG in sysexits.h).
EXIT_CONFIG = 78

log = logging.getLogger("whistle.config")


def variable_of(field: str) -> str:
    return PREFIX + field.upper()


def describe(exc: ValidationError | SettingsError) -> list[str]:
    """One line per problem: ``WHISTLE_X: the rule``. Pydantic's own text quotes the value
    it refused; these lines quote only the rule."""
    if isinstance(exc, SettingsError):
        # "error parsing value for field "x" from source "EnvSettingsSource"": a list or
        # JSON setting whose text is not JSON.
        match = re.search(r'field "(\w+)"', str(exc))
        name = variable_of(match.group(1)) if match else "a WHISTLE_ variable"
        return [f"{name}: not valid JSON (a list is written like [\"a\", \"b\"])"]
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = [str(part) for part in error["loc"]]
        rule = error["msg"].removeprefix("Value error, ")
        if not loc:  # a rule over several settings names its variables itself
            lines.append(rule)
            continue
        item = f" (item {loc[1]})" if len(loc) > 1 else ""
        lines.append(f"{variable_of(loc[0])}{item}: {rule}")
    return lines


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """``WHISTLE_…`` names in ``environ`` that no setting reads, each with a near match."""
    known = {variable_of(name) for name in Settings.model_fields}
    notes = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper in known or upper in NOT_SETTINGS:
            continue
        close = difflib.get_close_matches(upper, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        notes.append(f"{name} is not a Whistle setting and is ignored{hint}")
    return notes


def load_or_exit() -> Settings:
    """The settings, or one line per problem on stderr and exit status 78."""
    for note in unknown_variables(os.environ):
        log.warning(note)
    try:
        return get_settings()
    except (ValidationError, SettingsError) as exc:
        for line in describe(exc):
            print(f"configuration error: {line}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None
