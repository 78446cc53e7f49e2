"""services/heap.py: the allocator's free pages handed back where the C library allows it (glibc)."""

from __future__ import annotations

import sys

import pytest

from carenet_desktop.services import heap


def test_release_calls_malloc_trim_with_no_padding(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(heap, "_TRIM", [lambda pad: calls.append(pad) or 1])
    assert heap.release() is True
    assert calls == [0]


def test_release_does_nothing_without_malloc_trim(monkeypatch):
    monkeypatch.setattr(heap, "_TRIM", [False])
    assert heap.release() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim: Linux")
def test_release_finds_malloc_trim_on_linux(monkeypatch):
    monkeypatch.setattr(heap, "_TRIM", [])
    assert heap.release() is True
