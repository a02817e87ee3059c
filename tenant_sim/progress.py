"""One line per start-up step, ✓ or ✗, with the time it took: what the demo prints."""

from collections.abc import Awaitable
import sys
import time
from typing import TextIO

OK = "✓"
FAILED = "✗"


class Progress:
    """Prints steps as they finish; remembers the failures for the summary."""

    def __init__(self, out: TextIO = sys.stdout) -> None:
        self.out = out
        self.started = time.monotonic()
        self.failures: list[str] = []

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def ok(self, text: str, since: float | None = None) -> None:
        self.say(f"{self._restart}  {OK} {text}{_took(since)}")

    def failed(self, text: str, error: BaseException | str) -> None:
        self.failures.append(text)
        self.say(f"{self._restart}  {FAILED} {text}: {error}")

    @property
    def _restart(self) -> str:
        """On a terminal the step's "…" line is overwritten by its outcome."""
        return "\r\033[K" if self.out.isatty() else ""

    async def step[T](self, text: str, work: Awaitable[T]) -> T:
        """Run ``work``, print ✓ and its duration; on failure print ✗ and re-raise."""
        since = time.monotonic()
        if self.out.isatty():
            print(f"  … {text}", end="", file=self.out, flush=True)
        try:
            result = await work
        except Exception as err:
            self.failed(text, err)
            raise
        self.ok(text, since)
        return result

    async def attempt(self, text: str, work: Awaitable[object]) -> bool:
        """Like ``step``, but a failure is reported and False returned: the demo goes on."""
        try:
            await self.step(text, work)
        except Exception:  # reported as ✗ by step(); the rest keeps running
            return False
        return True

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


def _took(since: float | None) -> str:
    return "" if since is None else f" ({time.monotonic() - since:.1f} s)"
