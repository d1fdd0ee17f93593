"""A viewer's queue (streams.Viewer): every frame reaches a viewer that keeps reading; the
one that falls ``max_backlog`` behind loses what waits and the frames up to the next key
frame, plays on from that key frame, and the frames it lost are counted — the only
place the platform drops frames on purpose (bench/video.py shows it never happens to
64 viewers reading over HTTP)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from campus_safety.video import streams


def _frame(index: int, size: int, is_key: bool) -> bytes:
    return (b"K" if is_key else b"P") + index.to_bytes(4, "big") + bytes(size - 5)


@given(
    st.lists(st.tuples(st.integers(5, 400), st.booleans()), min_size=1, max_size=60),
    st.integers(1, 4),
)
def test_a_viewer_reading_after_every_few_frames_gets_every_frame(frames, every):
    viewer = streams.Viewer(max_backlog=4 * 400)
    sent, got = b"", b""
    for index, (size, is_key) in enumerate(frames):
        data = _frame(index, size, is_key)
        viewer.push(data, is_key=is_key)
        sent += data
        if index % every == every - 1:
            got += viewer.get(0) or b""
    got += viewer.get(0) or b""
    assert got == sent and viewer.dropped == 0 and not viewer.lagging


def test_a_viewer_that_falls_behind_skips_to_the_next_key_frame_and_says_how_many_it_lost():
    viewer = streams.Viewer(max_backlog=1000)
    viewer.push(_frame(0, 400, True), is_key=True)
    viewer.push(_frame(1, 400, False), is_key=False)
    assert viewer.get(0) == _frame(0, 400, True) + _frame(1, 400, False)

    # it stops reading: the third frame would make 1,200 bytes wait
    viewer.push(_frame(2, 400, False), is_key=False)
    viewer.push(_frame(3, 400, False), is_key=False)
    viewer.push(_frame(4, 400, False), is_key=False)
    assert viewer.lagging and viewer.dropped == 3
    viewer.push(_frame(5, 400, False), is_key=False)  # no use without its key frame
    assert viewer.dropped == 4 and viewer.get(0) == b""

    # the next key frame: it plays on from there, nothing after it lost
    viewer.push(_frame(6, 400, True), is_key=True)
    viewer.push(_frame(7, 400, False), is_key=False)
    assert not viewer.lagging and viewer.dropped == 4
    assert viewer.get(0) == _frame(6, 400, True) + _frame(7, 400, False)


def test_a_key_frame_that_overflows_the_backlog_is_dropped_too_and_the_next_one_taken():
    viewer = streams.Viewer(max_backlog=1000)
    viewer.push(_frame(0, 800, True), is_key=True)
    viewer.push(_frame(1, 800, True), is_key=True)  # 1,600 bytes would wait
    assert viewer.lagging and viewer.dropped == 2 and viewer.get(0) == b""
    viewer.push(_frame(2, 800, True), is_key=True)
    assert viewer.get(0) == _frame(2, 800, True) and viewer.dropped == 2
