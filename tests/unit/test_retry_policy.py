"""The shared retry policy (launcher.backends.retry), as pure logic: a fake clock and sleep, no I/O."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from launcher.backends.retry import CONFLICT_POLICY, DEFAULT_POLICY, Attempts, RetryPolicy

POLICIES = st.builds(
    lambda low, span, base, attempts: RetryPolicy(low, base, low + span, attempts),
    st.floats(0.001, 1.0),
    st.floats(0.0, 10.0),
    st.floats(0.001, 5.0),
    st.integers(1, 10_000),
)
ADVICE = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.floats(-1e6, 1e6))


class FakeClock:
    """Time that passes only when the loop sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@given(POLICIES, st.integers(-5, 10**6), ADVICE, st.floats(0.0, 1.0))
def test_every_pause_is_within_min_and_max_and_never_overflows(policy, attempt, retry_after, draw) -> None:
    pause = policy.delay(attempt, retry_after, lambda: draw)
    assert policy.min_delay <= pause <= policy.max_delay
    assert math.isfinite(pause)


@given(st.integers(1, 10**6), st.floats(0.0, 1.0))
def test_retry_after_is_a_floor_under_the_backoff_never_below_the_minimum(attempt, draw) -> None:
    policy = DEFAULT_POLICY
    assert policy.delay(attempt, 0.0, lambda: draw) == policy.delay(attempt, None, lambda: draw) >= policy.min_delay
    assert policy.delay(attempt, 0.7, lambda: draw) >= 0.7
    assert policy.delay(attempt, 3600.0, lambda: draw) == policy.max_delay  # clamped to the cap


def test_the_backoff_ceiling_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(min_delay=0.01, base_delay=0.1, max_delay=1.0)
    assert [policy.ceiling(n) for n in range(1, 7)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    assert policy.ceiling(10_000) == 1.0  # 2 ** 9999 as a float would overflow
    assert policy.delay(10_000, None, lambda: 1.0) == 1.0


def test_full_jitter_spreads_pauses_over_the_whole_range() -> None:
    policy = RetryPolicy(min_delay=0.01, base_delay=1.0, max_delay=1.0)
    assert policy.delay(1, None, lambda: 0.0) == 0.01  # the floor, not zero
    assert policy.delay(1, None, lambda: 0.5) == 0.5
    assert policy.delay(1, None, lambda: 1.0) == 1.0


@pytest.mark.parametrize(
    "kwargs", [{"min_delay": 0}, {"min_delay": 3, "max_delay": 2}, {"base_delay": 0}, {"max_attempts": 0}]
)
def test_an_inconsistent_policy_is_refused(kwargs) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


@given(st.floats(0.0, 30.0), ADVICE, st.floats(0.0, 1.0))
@example(deadline=0.6, retry_after=None, draw=0.0)  # pauses of 0.05 summing to the deadline in floats
def test_a_loop_never_sleeps_past_its_deadline_and_ends(deadline, retry_after, draw) -> None:
    clock = FakeClock()
    attempts = Attempts(DEFAULT_POLICY, deadline, clock=clock, sleep=clock.sleep, draw=lambda: draw)
    while True:
        attempts.started()
        if not attempts.pause(retry_after):
            break
    assert clock.now < deadline or deadline == 0.0
    assert attempts.count <= DEFAULT_POLICY.max_attempts
    # A server saying "retry now" still gets at most deadline / min_delay requests, not thousands.
    assert attempts.count <= deadline / DEFAULT_POLICY.min_delay + 1


def test_retry_after_zero_within_four_seconds_makes_few_attempts() -> None:
    clock = FakeClock()
    attempts = Attempts(DEFAULT_POLICY, 4.0, clock=clock, sleep=clock.sleep, draw=lambda: 0.5)
    while True:
        attempts.started()
        if not attempts.pause(0.0):
            break
    assert attempts.count < 15  # the old loop slept Retry-After as given: ~3000 requests in 4 s
    assert all(pause >= DEFAULT_POLICY.min_delay for pause in clock.sleeps)


def test_a_pause_reaching_the_deadline_gives_up_without_sleeping() -> None:
    clock = FakeClock()
    attempts = Attempts(DEFAULT_POLICY, 1.0, clock=clock, sleep=clock.sleep)
    attempts.started()
    assert attempts.next_pause(retry_after=120.0) is None  # clamped to 2 s, still past the deadline
    assert not attempts.pause(retry_after=120.0)
    assert clock.sleeps == []


def test_max_attempts_ends_a_loop_without_a_deadline() -> None:
    clock = FakeClock()
    attempts = Attempts(CONFLICT_POLICY, None, clock=clock, sleep=clock.sleep)
    while True:
        attempts.started()
        if not attempts.pause():
            break
    assert attempts.count == CONFLICT_POLICY.max_attempts
    assert len(clock.sleeps) == CONFLICT_POLICY.max_attempts - 1


def test_reset_starts_the_backoff_again() -> None:
    attempts = Attempts(
        RetryPolicy(min_delay=0.01, base_delay=0.1, max_delay=5.0), None, draw=lambda: 1.0, sleep=lambda _: None
    )
    for _ in range(6):
        attempts.started()
    assert attempts.next_pause() == pytest.approx(3.2)
    attempts.reset()
    attempts.started()
    assert attempts.next_pause() == pytest.approx(0.1)


def test_jitter_never_advances_the_shared_random_generator() -> None:
    """Watch threads draw jitter at any time: from the launcher's own generator, so a program (or a
    property-based test framework) that seeded `random` never sees its sequence moved."""
    state = random.getstate()
    draws = [DEFAULT_POLICY.delay(3) for _ in range(5)] + [
        Attempts(DEFAULT_POLICY, 10.0).next_pause() for _ in range(5)
    ]
    assert random.getstate() == state
    assert len(set(draws)) > 1  # still random
