"""Engine, sessions and SQL helpers shared by every domain (``app.db``)."""

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from app.db import constant


def test_a_constant_is_written_into_the_statement_not_sent_as_a_parameter():
    statement = select(constant(1)).where(constant("dispatched") == constant("claimed"))
    compiled = statement.compile(dialect=postgresql.asyncpg.dialect())
    assert compiled.string == "SELECT 1 \nWHERE 'dispatched' = 'claimed'"
    assert not compiled.positiontup


@pytest.mark.parametrize("value", ["it's", "a b", "Claimed", "1; DROP TABLE tickets", True])
def test_a_constant_needing_quoting_is_refused(value):
    with pytest.raises((ValueError, TypeError)):
        constant(value)
