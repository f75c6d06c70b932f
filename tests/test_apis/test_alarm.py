"""SmokeAlarm: N-of-M switch-on, at-most-K switch-off, on hand sequences."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmsmoke.apis import SmokeAlarm

#: window 5, on at >= 3 present, off at <= 1 present.
SEQUENCE = [1, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0]
#: Present frames in the last 5, computed by hand.
COUNTS = [1, 1, 2, 2, 3, 3, 4, 3, 3, 2, 1, 1, 1, 1]
#: Alarm state after each frame: on at frame 4 (count 3), kept while the
#: count is 2 or 3 (hysteresis), off at frame 10 (count 1).
ACTIVE = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0]


def test_hand_computed_sequence():
    alarm = SmokeAlarm(window=5, on_count=3, off_count=1)
    counts, active, events = [], [], []
    for i, present in enumerate(SEQUENCE):
        event = alarm.update(bool(present), time_s=0.5 * i)
        counts.append(alarm.count)
        active.append(int(alarm.active))
        if event is not None:
            events.append(event)
    assert counts == COUNTS
    assert active == ACTIVE
    assert events == [
        dict(event='on', frame=4, time_s=2.0, count=3, window=5),
        dict(event='off', frame=10, time_s=5.0, count=1, window=5),
    ]
    assert alarm.events == events
    assert alarm.episodes() == [
        dict(start_frame=4, start_time_s=2.0, end_frame=10, end_time_s=5.0)
    ]


def test_flicker_does_not_trigger_and_open_episode():
    alarm = SmokeAlarm(window=4, on_count=3, off_count=1)
    for present in [1, 0] * 6:  # never 3 of 4
        assert alarm.update(bool(present)) is None
    assert not alarm.active and alarm.events == []
    alarm.reset()
    assert alarm.count == 0
    # Frame indices given by the caller (e.g. a frame stride of 5).
    for i, present in enumerate([1, 1, 1]):
        alarm.update(bool(present), frame=100 + 5 * i)
    assert alarm.active
    assert alarm.events[0]['frame'] == 110
    assert alarm.episodes() == [
        dict(
            start_frame=110,
            start_time_s=None,
            end_frame=None,
            end_time_s=None)
    ]
    alarm.reset()
    assert not alarm.active and alarm.count == 0 and alarm.events == []


def test_window_of_one_follows_the_frames():
    alarm = SmokeAlarm(window=1, on_count=1, off_count=0)
    states = []
    for present in [0, 1, 1, 0, 1]:
        alarm.update(bool(present))
        states.append(alarm.active)
    assert states == [False, True, True, False, True]
    assert [e['event'] for e in alarm.events] == ['on', 'off', 'on']
    assert [e['frame'] for e in alarm.events] == [1, 3, 4]


@pytest.mark.parametrize('kwargs, error', [
    (dict(window=0), ValueError),
    (dict(window=3, on_count=4), ValueError),
    (dict(window=3, on_count=0), ValueError),
    (dict(window=3, on_count=2, off_count=2), ValueError),
    (dict(window=3, on_count=2, off_count=-1), ValueError),
    (dict(window=3.0), TypeError),
    (dict(window=True), TypeError),
])
def test_bad_rules_are_refused(kwargs, error):
    with pytest.raises(error, match='SmokeAlarm'):
        SmokeAlarm(**kwargs)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.booleans(), min_size=1, max_size=60),
    st.integers(1, 8).flatmap(lambda m: st.tuples(
        st.just(m), st.integers(1, m)).flatmap(lambda mn: st.tuples(
            st.just(mn[0]), st.just(mn[1]), st.integers(0, mn[1] - 1)))))
def test_rule_invariants(frames, rule):
    window, on_count, off_count = rule
    alarm = SmokeAlarm(window, on_count, off_count)
    previous = False
    for i, present in enumerate(frames):
        alarm.update(present)
        count = sum(frames[max(0, i - window + 1):i + 1])
        assert alarm.count == count
        if count >= on_count:
            assert alarm.active
        elif count <= off_count:
            assert not alarm.active
        else:  # between the levels the state does not change
            assert alarm.active == previous
        previous = alarm.active
    kinds = [e['event'] for e in alarm.events]
    assert kinds == ['on', 'off'] * (len(kinds) // 2) + ['on'] * (
        len(kinds) % 2)
