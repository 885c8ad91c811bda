"""Durability tests: real servers killed (SIGKILL) at random moments under write load, restarted,
and checked against what clients were told was written. Bounded in rounds and time."""
