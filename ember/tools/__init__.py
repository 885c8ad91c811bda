"""The `ember` operations toolkit: commands that talk RESP to any Redis-compatible server
(Ember, Redis, Valkey, ElastiCache), so the same tools keep working when a deployment moves."""
