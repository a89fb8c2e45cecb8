"""The bot's clock. Production reads the wall clock; `jobs run-due --at` and the sandbox's clock
control set an offset or a fixed moment, so the very same code runs for any time."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fixed: datetime | None = None
        self._offset = timedelta(0)

    def now(self) -> datetime:
        with self._lock:
            if self._fixed is not None:
                return self._fixed
            return datetime.now(UTC) + self._offset

    def set(self, moment: datetime | None) -> None:
        """Freeze the clock at `moment` (None: back to the wall clock plus offset)."""
        if moment is not None and moment.tzinfo is None:
            raise ValueError("the clock takes timezone-aware datetimes")
        with self._lock:
            self._fixed = moment.astimezone(UTC) if moment else None

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            if self._fixed is not None:
                self._fixed += delta
            else:
                self._offset += delta
        return self.now()

    def travel_to(self, moment: datetime) -> None:
        """Run from `moment` onwards, still ticking (used by the sandbox)."""
        with self._lock:
            self._fixed = None
            self._offset = moment.astimezone(UTC) - datetime.now(UTC)
