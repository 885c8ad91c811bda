-- Ember's Lua sandbox, run once per runtime. It receives the Python side (`py`), builds the
-- `redis` table, removes what scripts must not reach, protects globals, and returns the private
-- helpers the engine needs (debug is kept only as an upvalue here).
local py = ...
local debug_getinfo, debug_sethook, debug_traceback = debug.getinfo, debug.sethook, debug.traceback
-- lupa's own error handler fetches debug.traceback from C; it must keep working after `debug`
-- is gone for scripts, or an error inside that handler would abort the process.
local lupa_debug = {traceback = debug_traceback}
local rawset, setmetatable, type, error, xpcall, tostring = rawset, setmetatable, type, error, xpcall, tostring
local loadstring = loadstring

-- Source and line of the nearest script frame from `level` up (C frames such as error() and
-- this sandbox's own frames skipped).
local function where(level)
  for lvl = level + 1, level + 12 do
    local info = debug_getinfo(lvl, "Sl")
    if info == nil then return nil end
    if info.what ~= "C" and info.source ~= "=sandbox" then return info.source, info.currentline end
  end
end

-- redis.call raises the error table; redis.pcall returns it.
local function call(...)
  local reply, failed = py.call(...)
  if failed then
    local source, line = where(3)
    reply.source, reply.line = source, line
    error(reply, 0)
  end
  return reply
end

local redis = {
  call = call,
  pcall = function(...) return (py.call(...)) end,
  error_reply = py.error_reply,
  status_reply = function(text) return {ok = text} end,
  sha1hex = py.sha1hex,
  log = py.log,
  setresp = py.setresp,
  set_repl = py.set_repl,
  replicate_commands = function() return true end,
  breakpoint = function() return false end,
  debug = function() end,
  acl_check_cmd = py.acl_check_cmd,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REPL_NONE = 0, REPL_AOF = 1, REPL_SLAVE = 2, REPL_REPLICA = 2, REPL_ALL = 3,
  REDIS_VERSION = py.version, REDIS_VERSION_NUM = py.version_num,
}
rawset(_G, "redis", redis)
for name, lib in pairs(py.libraries) do rawset(_G, name, lib) end

local removed = {"io", "os", "debug", "print", "dofile", "loadfile", "setfenv", "getfenv",
                 "newproxy", "module", "require", "package", "python"}
for _, name in ipairs(removed) do rawset(_G, name, nil) end

-- Library tables become read-only proxies, as in Redis where scripts can't change them.
local function readonly(tbl)
  return setmetatable({}, {
    __index = tbl,
    __newindex = function() error("Attempt to modify a readonly table", 2) end,
    __metatable = false,
  })
end
for _, name in ipairs({"string", "math", "table", "coroutine", "redis", "bit", "cjson", "cmsgpack", "struct"}) do
  if rawget(_G, name) then rawset(_G, name, readonly(rawget(_G, name))) end
end
setmetatable(_G, {
  __index = function(_, name)
    if name == "debug" then
      local caller = debug_getinfo(2, "S")
      if caller == nil or caller.what == "C" then return lupa_debug end
    end
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
  end,
  __newindex = function() error("Attempt to modify a readonly table", 2) end,
  __metatable = false,
})

local function handler(err)
  if type(err) == "table" then
    if err.source == nil then err.source, err.line = where(3) end
    return err
  end
  if type(err) == "userdata" then  -- an error raised by the Python side: its text is the reply
    local source, line = where(3)
    return {err = tostring(err), source = source, line = line}
  end
  local source, line = where(3)
  return {err = tostring(err), source = source, line = line, lua_error = true}
end

local helpers = {}
function helpers.compile(body, chunkname) return loadstring(body, chunkname) end
function helpers.run(fn, keys, argv)
  rawset(_G, "KEYS", keys)
  rawset(_G, "ARGV", argv)
  return xpcall(fn, handler)
end
function helpers.set_hook(check, count)
  debug_sethook(function()
    local stop = check()
    if stop then error({err = stop}, 0) end
  end, "", count)
end
function helpers.clear_hook() debug_sethook() end
return helpers
