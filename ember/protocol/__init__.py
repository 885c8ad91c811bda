"""Sans-IO RESP: request parsing (hiredis fast path, strict fallback) and reply encoding."""
