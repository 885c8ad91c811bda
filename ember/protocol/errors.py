"""Error replies and the exact texts Redis 7.2 uses for them.

Command handlers raise `CommandError`; the dispatcher turns it into an error reply. Keeping the
texts here, once, is what lets every family answer with Redis's wording.
"""


class CommandError(Exception):
    """An error reply. `message` is the full text after '-' (it starts with the error code)."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        """The first word, e.g. ERR, WRONGTYPE, NOAUTH: what INFO errorstats counts."""
        return self.message.split(" ", 1)[0]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CommandError) and other.message == self.message

    def __hash__(self) -> int:
        return hash(self.message)

    def __repr__(self) -> str:
        return f"CommandError({self.message!r})"


class ProtocolError(Exception):
    """Malformed request bytes: Redis replies '-ERR Protocol error: ...' and closes the connection."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.reply = CommandError(f"ERR Protocol error: {detail}")


SYNTAX = "ERR syntax error"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
OVERFLOW = "ERR increment or decrement would overflow"
NO_SUCH_KEY = "ERR no such key"
INDEX_OUT_OF_RANGE = "ERR index out of range"
OUT_OF_RANGE_DB = "ERR DB index is out of range"
NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."


def wrong_arity(name: str) -> CommandError:
    return CommandError(f"ERR wrong number of arguments for '{name}' command")


def unknown_subcommand(sub: bytes, container: str) -> CommandError:
    text = sub.decode("utf-8", "replace")
    return CommandError(f"ERR unknown subcommand '{text}'. Try {container.upper()} HELP.")


def invalid_expire_time(command: str) -> CommandError:
    return CommandError(f"ERR invalid expire time in '{command}' command")
