"""ACL LOG: the security log (Redis's ACLLog), newest entry first.

With one user, whose rights are +@all ~* &*, the only denial is a failed authentication
(AUTH, HELLO AUTH). As in Redis, a denial like one of the last 10 entries (same reason, context,
object and user, updated at most 60 s before) counts on that entry and moves it to the front
instead of adding one, and the log keeps at most acllog-max-len entries.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .client import Client

_GROUPING_WINDOW_MS = 60_000  # Redis's ACL_LOG_GROUPING_MAX_TIME_DELTA
_GROUPING_SCAN = 10  # how many recent entries a new denial is compared with


@dataclass(slots=True)
class AclLogEntry:
    reason: str  # "auth", "command", "key" or "channel"
    context: str  # "toplevel", "multi", "lua" or "module"
    object: str
    username: str
    client_info: str
    entry_id: int
    created_ms: int
    updated_ms: int
    count: int = 1

    def matches(self, reason: str, context: str, obj: str, username: str, now_ms: int) -> bool:
        return (self.reason == reason and self.context == context and self.object == obj
                and self.username == username and now_ms - self.updated_ms <= _GROUPING_WINDOW_MS)

    def reply(self, now_ms: int) -> dict[str, object]:
        """The entry as ACL LOG shows it (Redis 7.2's fields, in its order)."""
        return {
            "count": self.count,
            "reason": self.reason,
            "context": self.context,
            "object": self.object,
            "username": self.username,
            "age-seconds": (now_ms - self.updated_ms) / 1000.0,  # since the last denial, as Redis
            "client-info": self.client_info,
            "entry-id": self.entry_id,
            "timestamp-created": self.created_ms,
            "timestamp-last-updated": self.updated_ms,
        }


class AclLog:
    def __init__(self) -> None:
        self.entries: deque[AclLogEntry] = deque()
        self.next_id = 0  # ids stay unique across ACL LOG RESET, as in Redis

    def add(self, client: Client, reason: str, obj: str, username: str, max_len: int) -> None:
        context = "multi" if client.in_exec else "toplevel"
        now_ms = time.time_ns() // 1_000_000
        for index in range(min(_GROUPING_SCAN, len(self.entries))):
            entry = self.entries[index]
            if entry.matches(reason, context, obj, username, now_ms):
                del self.entries[index]
                self.entries.appendleft(entry)
                entry.count += 1
                entry.client_info = client.info_line()
                entry.updated_ms = now_ms
                return
        self.entries.appendleft(AclLogEntry(reason, context, obj, username, client.info_line(),
                                            self.next_id, now_ms, now_ms))
        self.next_id += 1
        while len(self.entries) > max_len:
            self.entries.pop()

    def newest(self, count: int) -> list[dict[str, object]]:
        now_ms = time.time_ns() // 1_000_000
        return [entry.reply(now_ms) for entry in list(self.entries)[:count]]

    def reset(self) -> None:
        self.entries.clear()
