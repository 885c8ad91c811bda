"""The data: databases of keys with expiry, value types, SCAN cursors, memory estimates."""
