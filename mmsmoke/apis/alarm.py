"""Temporal smoke alarm with hysteresis for video and image sequences."""
from collections import deque
from typing import Deque, Dict, List, Optional


class SmokeAlarm:
    """Raise a smoke alarm from per-frame decisions, with hysteresis.

    A single frame is a noisy witness (a cloud edge, a lens flare), so the
    alarm looks at the last ``window`` frames (M):

    - an inactive alarm turns **on** at the frame where smoke is present in
      at least ``on_count`` (N) of the last M frames;
    - an active alarm turns **off** at the frame where smoke is present in
      at most ``off_count`` (K) of the last M frames.

    Since K < N, the count must fall well below the switch-on level before
    the alarm clears, so an alarm does not flicker while smoke comes and
    goes between frames. Before M frames have been seen, the window holds
    the frames seen so far. The switch-on delay is at least N frames;
    choose M, N and K for the frame rate actually processed (after any
    frame stride).

    Each transition is an event ``dict(event='on'|'off', frame=..,
    time_s=.., count=.., window=..)`` returned by :meth:`update` and kept
    in :attr:`events`; :meth:`episodes` pairs them into alarm periods.

    Args:
        window (int): M, frames in the sliding window (>= 1).
            Defaults to 10.
        on_count (int): N, present frames that switch the alarm on
            (1 <= N <= M). Defaults to 6.
        off_count (int): K, the alarm switches off when at most K frames
            of the window are present (0 <= K < N). Defaults to 2.
    """

    def __init__(self,
                 window: int = 10,
                 on_count: int = 6,
                 off_count: int = 2) -> None:
        for name, value in (('window', window), ('on_count', on_count),
                            ('off_count', off_count)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f'SmokeAlarm: {name} must be an integer, '
                                f'got {value!r}')
        if window < 1:
            raise ValueError(f'SmokeAlarm: window must be >= 1, got {window}')
        if not 1 <= on_count <= window:
            raise ValueError(f'SmokeAlarm: on_count must lie in [1, window='
                             f'{window}], got {on_count}')
        if not 0 <= off_count < on_count:
            raise ValueError(f'SmokeAlarm: off_count must lie in [0, '
                             f'on_count={on_count}), got {off_count}')
        self.window = window
        self.on_count = on_count
        self.off_count = off_count
        self.reset()

    def reset(self) -> None:
        """Forget every frame and event; the alarm is off."""
        self._recent: Deque[bool] = deque(maxlen=self.window)
        self._num_frames = 0
        self.active = False
        self.events: List[Dict] = []

    @property
    def count(self) -> int:
        """Present frames among the last ``window`` frames."""
        return int(sum(self._recent))

    def rule(self) -> Dict[str, int]:
        """The rule's parameters (for reports)."""
        return dict(
            window=self.window,
            on_count=self.on_count,
            off_count=self.off_count)

    def update(self,
               present: bool,
               frame: Optional[int] = None,
               time_s: Optional[float] = None) -> Optional[Dict]:
        """Add the decision of the next frame.

        Args:
            present (bool): Smoke is present in this frame.
            frame (int, optional): Frame index for the event; defaults to
                the number of frames seen before this one.
            time_s (float, optional): Time stamp of the frame in seconds.

        Returns:
            dict | None: The event if the alarm switched at this frame.
        """
        if frame is None:
            frame = self._num_frames
        self._num_frames += 1
        self._recent.append(bool(present))
        count = self.count
        event = None
        if not self.active and count >= self.on_count:
            self.active = True
            event = 'on'
        elif self.active and count <= self.off_count:
            self.active = False
            event = 'off'
        if event is None:
            return None
        record = dict(
            event=event,
            frame=int(frame),
            time_s=None if time_s is None else float(time_s),
            count=count,
            window=len(self._recent))
        self.events.append(record)
        return record

    def episodes(self) -> List[Dict]:
        """Alarm periods: start and end frame/time of each on-off pair.

        Returns:
            list[dict]: ``start_frame``, ``start_time_s``, ``end_frame``,
            ``end_time_s`` (the frame where the alarm cleared; None while
            still active).
        """
        out: List[Dict] = []
        for record in self.events:
            if record['event'] == 'on':
                out.append(
                    dict(
                        start_frame=record['frame'],
                        start_time_s=record['time_s'],
                        end_frame=None,
                        end_time_s=None))
            elif out:
                out[-1]['end_frame'] = record['frame']
                out[-1]['end_time_s'] = record['time_s']
        return out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(window={self.window}, '
                f'on_count={self.on_count}, off_count={self.off_count})')
