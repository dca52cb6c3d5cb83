"""What every local server of the sandbox shares: `with` starts it and ends it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class LocalServer(ABC):
    """A server this process starts and ends: `with Server() as server:` runs `start()`,
    then `stop()` however the block ends."""

    @abstractmethod
    def start(self) -> Self:
        """Start the server and return it once it answers."""

    @abstractmethod
    def stop(self) -> None:
        """End the server (a second call does nothing)."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
