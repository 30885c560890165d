"""The sweep that pairs the dispatchers' suspected duplicates finds exactly the pairs a
comparison of every ticket with every other finds."""

from __future__ import annotations

import random
from datetime import timedelta
from types import SimpleNamespace

import pytest

from app.duplicates.service import _close_pairs
from app.jurisdiction.coordinates import distance_m
from tests.conftest import T0


@pytest.mark.parametrize("seed", range(20))
def test_the_sweep_finds_every_close_pair_and_no_other(seed):
    rng = random.Random(seed)
    lat0 = rng.uniform(18, 53)
    rows = [SimpleNamespace(id=i, item_code=rng.choice(["0101", "0202", "0303"]),
                            lat=lat0 + rng.uniform(-0.004, 0.004),
                            lon=121.6 + rng.uniform(-0.004, 0.004),
                            created_at=T0 - timedelta(hours=rng.uniform(0, 400)))
            for i in range(150)]
    rows.sort(key=lambda r: (r.item_code, r.lat, r.lon))
    radius, period = rng.choice([50.0, 100.0, 300.0]), timedelta(days=7)
    swept = {(a.id, b.id) for a, b, _ in _close_pairs(rows, radius, period)}
    every = {(a.id, b.id) for i, b in enumerate(rows) for a in rows[:i]
             if a.item_code == b.item_code and abs(a.created_at - b.created_at) <= period
             and distance_m(a.lat, a.lon, b.lat, b.lon) <= radius}
    assert swept == every and every
