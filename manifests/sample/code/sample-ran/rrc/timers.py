"""RRC timers of the sample UE (T300, T301, T310, T311)."""
from dataclasses import dataclass


@dataclass
class Timer:
    name: str
    duration_ms: int
    running: bool = False

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False


def default_timers() -> dict:
    """Default durations in milliseconds as broadcast in SIB1 ue-TimersAndConstants."""
    return {name: Timer(name, ms) for name, ms in (("T300", 1000), ("T301", 1000), ("T310", 2000),
                                                   ("T311", 3000))}
