"""Lua scripting (EVAL/EVALSHA, FUNCTION/FCALL) on lupa's Lua 5.1, with Redis's sandbox and API."""
