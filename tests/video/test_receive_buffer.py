"""A media host left at the kernel's default receive-buffer cap is told once: the
stream's socket then holds about a second of packets, and a loop that lags longer
drops frames (bench/video.py --receive-buffer shows the loss)."""

from __future__ import annotations

import logging
import socket

from campus_safety.video import streams


def granted_for(asked: int) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, asked)
        return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)


def test_a_small_receive_buffer_is_reported_once(caplog, monkeypatch):
    monkeypatch.setattr(streams, "_small_buffer_told", False)
    small = granted_for(106_496)  # the kernel keeps twice what it is asked for
    with caplog.at_level(logging.WARNING, logger=streams.__name__):
        assert streams.warn_if_receive_buffer_small(small)
        assert not streams.warn_if_receive_buffer_small(small)
    told = [r for r in caplog.records if "net.core.rmem_max" in r.getMessage()]
    assert len(told) == 1 and str(small) in told[0].getMessage()


def test_the_buffer_asked_for_is_not_reported(caplog, monkeypatch):
    monkeypatch.setattr(streams, "_small_buffer_told", False)
    with caplog.at_level(logging.WARNING, logger=streams.__name__):
        assert not streams.warn_if_receive_buffer_small(streams.RTP_RECEIVE_BUFFER * 2)
    assert not caplog.records
