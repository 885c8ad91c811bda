"""Django settings for the cache tests: Django's built-in RedisCache and django-redis, both on
one server under different key prefixes. `settings_for(url)` gives the keyword arguments for
`django.conf.settings.configure`."""

from __future__ import annotations


def settings_for(url: str) -> dict:
    return {
        "INSTALLED_APPS": [],
        "USE_TZ": True,
        "CACHES": {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": "builtin",
            },
            "djredis": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": "djr",
                "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
            },
        },
    }
