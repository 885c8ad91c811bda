"""Persistence: Redis's RDB format and snapshots.

- `rdb`: the RDB encoder (version 10) and decoder (versions 1-11, every encoding), DUMP/RESTORE
  payloads, `write_rdb(server, fileobj)` for snapshots and an AOF's RDB preamble.
- `encodings`: listpack, ziplist, intset and zipmap blobs.
- `lzf`, `crc64`: the string compression and the checksum RDB files use.
- `snapshot`: SAVE/BGSAVE (fork), save points from cron, start-up load, shutdown save, INFO.
- `digest`: DEBUG DIGEST / DIGEST-VALUE, computed exactly as Redis does.
"""
