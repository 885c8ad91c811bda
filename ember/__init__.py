"""Ember: a Redis 7.2-compatible data server in Python, with the operations toolkit around it."""

__version__ = "0.1.0"

# The Redis version Ember advertises in INFO and HELLO: clients (RQ, redis-py) pick code paths from it.
REDIS_COMPAT_VERSION = "7.2.4"
