"""The one retry policy of every backend loop (HTTP fetch, etcd failover rounds, etcd watch streams,
etcd writers that lost a race): docs/backends/README.md, "Retries".

* Exponential backoff with full jitter: attempt n waits a random time in [0, min(cap, base x 2^(n-1))],
  so many launchers restarting together do not retry in step. The exponent is bounded, so no
  number of attempts can overflow a float.
* Never less than `min_delay`: a server answering `Retry-After: 0` (or a random draw near 0) cannot
  turn the loop into a flood of requests.
* The server's `Retry-After` is a floor, not a replacement: the pause is the larger of it and the
  backoff, clamped to [min_delay, max_delay], so the loop still backs off when told "retry now".
* A pause that would reach the deadline ends the loop instead: sleeping until the deadline would only
  leave an attempt with no time to run. Likewise after `max_attempts`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from launcher.records import Record, field

TYPE_CHECKING = False  # `random` is imported on the first retry (see _uniform)
if TYPE_CHECKING:
    import random

# 2^64 x any sane base is far beyond any cap, and still a finite float.
_MAX_EXPONENT = 64


def _uniform() -> float:
    """A uniform draw in [0, 1) from the launcher's own generator, made on the first retry: a launch
    whose first attempt succeeds (almost every one) does not pay `random`'s ~1.5 ms import
    (docs/performance.md), and the module's shared generator, which the host program (or a test
    framework) may have seeded, is never advanced from a watch thread behind its back."""
    global _generator
    if _generator is None:
        import random

        _generator = random.Random()  # seeded from os.urandom
    return _generator.random()


_generator: random.Random | None = None


class RetryPolicy(Record):
    min_delay: float = 0.05  # seconds; the floor of every pause
    base_delay: float = 0.1  # the ceiling of the first pause's jitter
    max_delay: float = 2.0  # the cap of every pause, Retry-After included
    max_attempts: int = 50  # attempts in all (the first one included); the deadline usually ends it first

    def __post_init__(self) -> None:
        if not 0 < self.min_delay <= self.max_delay or self.base_delay <= 0 or self.max_attempts < 1:
            raise ValueError(f"inconsistent retry policy: {self}")

    def ceiling(self, attempt: int) -> float:
        """The largest backoff after failed attempt number `attempt` (1-based)."""
        exponent = min(max(attempt - 1, 0), _MAX_EXPONENT)
        return min(self.max_delay, self.base_delay * 2.0**exponent)

    def delay(self, attempt: int, retry_after: float | None = None, draw: Callable[[], float] = _uniform) -> float:
        """The pause after failed attempt `attempt`: jittered backoff, at least Retry-After, in [min, max]."""
        pause = draw() * self.ceiling(attempt)
        if retry_after is not None and retry_after == retry_after:  # NaN is no advice
            pause = max(pause, retry_after)
        return min(self.max_delay, max(self.min_delay, pause))


DEFAULT_POLICY = RetryPolicy()
# Writers that lost a revision race: another writer just committed, so a short spread is enough.
CONFLICT_POLICY = RetryPolicy(min_delay=0.01, base_delay=0.02, max_delay=0.5, max_attempts=8)


class Attempts(Record, frozen=False):
    """One retry loop's state: how many attempts were made and how much of the deadline is left.

    attempts = Attempts(policy, deadline_seconds)
    while True:
        attempts.started()
        try: return attempt()
        except Passing as failure:
            if not attempts.pause(failure.retry_after): raise GaveUp(attempts.count)
    """

    policy: RetryPolicy = DEFAULT_POLICY
    seconds: float | None = None  # the overall deadline from now; None for a loop without one
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], object] = time.sleep
    draw: Callable[[], float] = _uniform
    count: int = 0
    expires: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.expires = None if self.seconds is None else self.clock() + self.seconds

    def started(self) -> None:
        self.count += 1

    def remaining(self) -> float:
        return float("inf") if self.expires is None else self.expires - self.clock()

    def next_pause(self, retry_after: float | None = None) -> float | None:
        """The pause before the next attempt, or None when there is to be no next attempt."""
        if self.count >= self.policy.max_attempts:
            return None
        pause = self.policy.delay(max(self.count, 1), retry_after, self.draw)
        # A pause that would reach the deadline is not taken; the margin absorbs float sums of pauses.
        return None if pause >= self.remaining() - 1e-9 else pause

    def pause(self, retry_after: float | None = None) -> bool:
        """Sleep before the next attempt; False (without sleeping) when the loop should give up."""
        pause = self.next_pause(retry_after)
        if pause is None:
            return False
        self.sleep(pause)
        return True

    def reset(self) -> None:
        """After a success in a loop that runs for ever (a watch stream): back to short pauses."""
        self.count = 0
