"""--mask-output: the service's stdout and stderr pass through the supervisor, secret values replaced.

A value split across two writes is still caught: the tail of what has been read that could be the
start of a secret is held back until the next write shows whether it is (or for at most
HOLD_SECONDS, so an interactive prompt is never stuck). When the launcher's output is a terminal
the service writes to a pseudo-terminal of the same size, so it still sees a TTY and keeps its
line buffering and colours; otherwise it writes to a pipe.
"""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Iterable

from launcher.keys import MASK as MASK_TEXT

MASK = MASK_TEXT.encode()
MINIMUM_LENGTH = 4  # shorter values would mangle ordinary output (a password "ab" in every word)
HOLD_SECONDS = 0.1
CHUNK = 65536
#: After the service is gone, how long to let the pumps drain what it wrote.
DRAIN_SECONDS = 2.0


class Masker:
    """Replaces secret byte strings in a stream fed in arbitrary pieces."""

    def __init__(self, secrets: Iterable[str]) -> None:
        encoded = {secret.encode() for secret in secrets if len(secret) >= MINIMUM_LENGTH}
        self.secrets = sorted(encoded, key=len, reverse=True)  # longest first on equal starts
        self.longest = len(self.secrets[0]) if self.secrets else 0
        self.held = b""

    def feed(self, data: bytes) -> bytes:
        """What may be written now; a tail that could still grow into a secret stays held."""
        return self._process(self.held + data, final=False)

    def flush(self) -> bytes:
        """Everything held: the stream ended or went quiet, so no longer secret can complete."""
        return self._process(self.held, final=True)

    def _process(self, buffer: bytes, final: bool) -> bytes:
        hold_from = len(buffer) if final else self._hold_from(buffer)
        output, position = [], 0
        while (found := self._earliest(buffer, position, hold_from)) is not None:
            start, secret = found
            output += [buffer[position:start], MASK]
            position = start + len(secret)
        cut = max(position, hold_from)
        self.held = buffer[cut:]
        return b"".join([*output, buffer[position:cut]])

    def _hold_from(self, buffer: bytes) -> int:
        """Where the earliest tail starts that is an unfinished beginning of some secret."""
        for start in range(max(0, len(buffer) - self.longest + 1), len(buffer)):
            tail = buffer[start:]
            if any(len(secret) > len(tail) and secret.startswith(tail) for secret in self.secrets):
                return start
        return len(buffer)

    def _earliest(self, buffer: bytes, position: int, before: int) -> tuple[int, bytes] | None:
        """The complete secret starting first at or after `position` and before `before`."""
        best: tuple[int, bytes] | None = None
        for secret in self.secrets:
            start = buffer.find(secret, position)
            if 0 <= start < before and (best is None or start < best[0]):
                best = (start, secret)
        return best


class Pump(threading.Thread):
    """Copies one of the service's streams to ours through a Masker, until the service closes it."""

    def __init__(self, source: int, target: int, masker: Masker) -> None:
        super().__init__(daemon=True, name=f"mask-{target}")
        self.source, self.target, self.masker = source, target, masker

    def run(self) -> None:
        try:
            while self._step():
                pass
        finally:
            _write_all(self.target, self.masker.flush())
            os.close(self.source)

    def _step(self) -> bool:
        ready, _, _ = select.select([self.source], [], [], HOLD_SECONDS if self.masker.held else None)
        if not ready:
            _write_all(self.target, self.masker.flush())
            return True
        try:
            data = os.read(self.source, CHUNK)
        except OSError:  # EIO: the pseudo-terminal's other side closed
            data = b""
        if data:
            _write_all(self.target, self.masker.feed(data))
        return bool(data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            select.select([], [fd], [])
        except OSError:  # our own output is gone (closed pipe): drop, like a closed terminal would
            return


def open_channel(target: int) -> tuple[int, int]:
    """(the service's end, our end) for one output stream: a pty matching a terminal, else a pipe."""
    if not os.isatty(target):
        read_end, write_end = os.pipe()
        return write_end, read_end
    import fcntl
    import termios

    ours, theirs = os.openpty()
    attributes = termios.tcgetattr(theirs)
    attributes[1] &= ~termios.OPOST  # bytes pass unchanged: our own terminal does the \n -> \r\n
    termios.tcsetattr(theirs, termios.TCSANOW, attributes)
    fcntl.ioctl(theirs, termios.TIOCSWINSZ, fcntl.ioctl(target, termios.TIOCGWINSZ, b"\0" * 8))
    return theirs, ours


class MaskedOutputs:
    """The service's stdout and stderr routed through masking pumps (launcher.launch.masking), or untouched."""

    def __init__(self, secrets: list[str]) -> None:
        self.pumps: list[Pump] = []
        self.ends: list[int | None] = [None, None]
        if not secrets:
            return
        for index, target in enumerate((1, 2)):
            service_end, our_end = open_channel(target)
            self.ends[index] = service_end
            self.pumps.append(Pump(our_end, target, Masker(secrets)))

    def service_ends(self) -> tuple[int | None, int | None]:
        return self.ends[0], self.ends[1]

    def start(self) -> None:
        """After the spawn: our copies of the service's ends close, so its exit ends the pumps."""
        self.close_service_ends()
        for pump in self.pumps:
            pump.start()

    def close_service_ends(self) -> None:
        for index, end in enumerate(self.ends):
            if end is not None:
                os.close(end)
                self.ends[index] = None

    def join(self) -> None:
        for pump in self.pumps:
            if pump.is_alive():
                pump.join(timeout=DRAIN_SECONDS)  # descendants may hold the stream open
