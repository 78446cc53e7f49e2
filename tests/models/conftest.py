from __future__ import annotations

import pytest

from tests.dbtargets import backends, fresh_database


@pytest.fixture(params=backends())
def db_url(request, tmp_path):  # type: ignore[no-untyped-def]
    with fresh_database(request.param, tmp_path) as url:
        yield url
