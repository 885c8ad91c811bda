-- Ember's Lua sandbox: run once per runtime (one for EVAL, one for FUNCTION). It receives the
-- Python side (`py`) and the mode ("eval" or "function"), builds the environment scripts see and
-- returns the private helpers the engine drives them with.
--
-- Scripts never see this runtime's real globals: every script function runs with `env`, an empty
-- proxy whose reads fall through to `globals` (the names Redis 7 leaves to scripts) and whose
-- writes fail, as Redis's read-only globals do. Library tables (string, math, redis, cjson...)
-- are read-only proxies too, and the builtins that could reach past a proxy (rawset, rawget,
-- next, pairs, ipairs, setmetatable, loadstring, load) see through or refuse as Redis's do.
local py, mode = ...

local debug_getinfo, debug_sethook = debug.getinfo, debug.sethook
local type, error, tostring, select, unpack = type, error, tostring, select, unpack
local rawget, pairs, ipairs = rawget, pairs, ipairs
local setmetatable, getmetatable, setfenv = setmetatable, getmetatable, setfenv
local raw_pcall, raw_xpcall, raw_loadstring = pcall, xpcall, loadstring
local coroutine_resume = coroutine.resume
local byte = string.byte

local READONLY = "Attempt to modify a readonly table"

-- proxy -> the table it protects.
local real_of = setmetatable({}, {__mode = "k"})

local function refuse_write() error(READONLY, 2) end

local function readonly(real)
  local proxy = {}
  real_of[proxy] = real
  return setmetatable(proxy, {__index = real, __newindex = refuse_write, __metatable = false})
end

local function missing_global(_, name)
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end

local function copy(source, names)
  local out = {}
  for _, name in ipairs(names) do out[name] = source[name] end
  return out
end

-- Python errors reach Lua as userdata: turn them into what Redis's C functions raise (a table
-- {err=...} for redis.* failures, a positioned string for library errors).
local error_value = py.error_value
local json_null = py.libraries.cjson.null
local function normalize(err)
  if type(err) == "userdata" and err ~= json_null then return error_value(err) end
  return err
end

-- Redis's pcall: an error table with a string `err` is returned as that string.
local function pcall_result(ok, ...)
  if ok then return ok, ... end
  local err = normalize((...))
  if type(err) == "table" then
    local text = err.err
    if type(text) == "string" or type(text) == "number" then err = text end
  end
  return false, err
end

-- coroutine.resume is the stock one: only Python errors need turning into Lua values.
local function resume_result(ok, ...)
  if ok then return ok, ... end
  return false, normalize((...))
end

-- The script environment ------------------------------------------------------------------

local globals = copy(_G, {"assert", "collectgarbage", "error", "gcinfo", "getmetatable", "tonumber",
                          "tostring", "type", "unpack", "select", "rawequal", "_VERSION"})
local env = {}
real_of[env] = globals
local env_meta = {__index = globals, __newindex = refuse_write, __metatable = false}
setmetatable(env, env_meta)
setmetatable(globals, {__index = missing_global})
globals._G = env

-- Python callables (redis.call, cjson.encode...) are C functions in Redis: say so. The only
-- other userdata a script can hold is cjson.null.
globals.type = function(...)
  if select("#", ...) == 0 then error("bad argument #1 to 'type' (value expected)", 2) end
  local kind = type((...))
  if kind == "userdata" and (...) ~= json_null then return "function" end
  return kind
end

globals.pcall = function(...)
  if select("#", ...) == 0 then error("bad argument #1 to 'pcall' (value expected)", 2) end
  return pcall_result(raw_pcall(...))
end
globals.xpcall = function(f, handler)
  return raw_xpcall(f, function(err) return handler(normalize(err)) end)
end
-- These see through the proxies (or refuse to write through them); they are Python functions so
-- that a tail call to them keeps the script's frame for error positions.
for _, name in ipairs({"pairs", "ipairs", "next", "rawget", "rawset", "setmetatable", "loadstring", "load"}) do
  globals[name] = py[name]
end

-- Compiles source with the script environment. Like Redis's patched Lua, precompiled bytecode
-- is never loaded: a leading ESC is parsed as text (and fails as text does).
local function compile(source, chunkname)
  if byte(source, 1) == 27 then source = " " .. source end
  local chunk, err = raw_loadstring(source, chunkname)
  if chunk then setfenv(chunk, env) end
  return chunk, err
end

local coroutine_lib = copy(coroutine, {"create", "running", "status", "wrap", "yield"})
coroutine_lib.resume = function(co, ...)
  if type(co) ~= "thread" then error("bad argument #1 to 'resume' (coroutine expected)", 2) end
  return resume_result(coroutine_resume(co, ...))
end

local math_lib = copy(math, {"abs", "acos", "asin", "atan", "atan2", "ceil", "cos", "cosh", "deg", "exp",
                            "floor", "fmod", "frexp", "huge", "ldexp", "log", "log10", "max", "min", "mod",
                            "modf", "pi", "pow", "rad", "sin", "sinh", "sqrt", "tan", "tanh"})
math_lib.random, math_lib.randomseed = py.random, py.randomseed

local string_lib = copy(string, {"byte", "char", "dump", "find", "format", "gfind", "gmatch", "gsub", "len",
                                "lower", "match", "rep", "reverse", "sub", "upper"})
local table_lib = copy(table, {"concat", "foreach", "foreachi", "getn", "insert", "maxn", "remove",
                              "setn", "sort"})

local function constants(tbl)
  tbl.LOG_DEBUG, tbl.LOG_VERBOSE, tbl.LOG_NOTICE, tbl.LOG_WARNING = 0, 1, 2, 3
  tbl.REDIS_VERSION, tbl.REDIS_VERSION_NUM = py.version, py.version_num
  return tbl
end

local redis_lib = constants(copy(py, {"call", "pcall", "error_reply", "status_reply", "sha1hex", "log",
                                      "setresp", "set_repl", "acl_check_cmd"}))
redis_lib.REPL_NONE, redis_lib.REPL_AOF, redis_lib.REPL_SLAVE, redis_lib.REPL_REPLICA, redis_lib.REPL_ALL = 0, 1, 2, 2, 3
if mode == "eval" then
  redis_lib.breakpoint = function() return false end
  redis_lib.debug = function() end
  redis_lib.replicate_commands = function() return true end
end

globals.coroutine = readonly(coroutine_lib)
globals.math = readonly(math_lib)
globals.string = readonly(string_lib)
globals.table = readonly(table_lib)
globals.redis = readonly(redis_lib)
for name, lib in pairs(py.libraries) do globals[name] = readonly(lib) end

-- Strings index the (read-only) string library; their metatable can be read, not changed.
local string_meta = getmetatable("")
string_meta.__index = globals.string
string_meta.__metatable = readonly(string_meta)

-- Errors -------------------------------------------------------------------------------------

-- The script frame an error belongs to, as Redis's error handler picks it: the function that
-- raised, or its caller when that is a C function (error(), redis.call...). This sandbox's own
-- frames are skipped, so its wrappers are invisible.
local function skip_sandbox(level)
  local info = debug_getinfo(level, "Sl")
  while info and info.source == "=sandbox" do
    level = level + 1
    info = debug_getinfo(level, "Sl")
  end
  return info, level
end

local function raising_frame(level)
  local info, found = skip_sandbox(level + 1)
  if info and info.what == "C" then info = skip_sandbox(found + 1) end
  return info
end

-- The xpcall handler: Redis's {err=..., source=..., line=...} error table.
local function handler(err)
  local info = raising_frame(2)
  err = normalize(err)
  if type(err) ~= "table" then err = {err = "ERR " .. tostring(err)} end
  if real_of[err] then err = {} end  -- error(string) and the like: a read-only library table
  if info then
    err.source = info.source
    err.line = info.currentline
  end
  return err
end

-- luaL_where(L, 1) for errors raised by Python functions: the position of the Lua code that
-- called the Python function ("user_script:3: "), or "" when a C function (pcall) called it.
local function where()
  local info = debug_getinfo(3, "Sl")
  if info and info.currentline > 0 then return info.short_src .. ":" .. info.currentline .. ": " end
  return ""
end

-- Helpers for the engine -------------------------------------------------------------------------

local helpers = {where = where, env = env}
function helpers.unproxy(t) return real_of[t] end

-- Every `count` instructions ask Python whether to stop. Once stopped, the hook fires on every
-- line so that a script cannot catch the error with pcall and carry on (as Redis does). Errors
-- are only raised in script code: this sandbox's own lines (after the protected call returns)
-- must run to clear the hook.
local function in_script()
  local info = debug_getinfo(3, "S")
  return info ~= nil and info.source ~= "=sandbox"
end

-- The busy hook stays set between runs, with the count it was last set with (`hooked`; 0 for
-- none, -1 once a stop replaced it): setting and clearing it around every run costs more than
-- the checks it makes between runs, which find no script running.
local hooked = 0

local function stopping_hook(check)
  return function()
    local stop = check()
    if stop and in_script() then
      debug_sethook(function() if in_script() then error({err = stop}, 0) end end, "l")
      hooked = -1
      error({err = stop}, 0)
    end
  end
end

local busy_hook = stopping_hook(py.check)  -- EVAL's and FCALL's

local function clear_hook()
  debug_sethook()
  hooked = 0
end
helpers.clear_hook = clear_hook

-- The shapes of a script's reply that Python takes without walking a Lua table (each table it
-- walks costs a call per field): a status, an error, or an array, which comes back unpacked
-- after its length. Read raw, as Redis reads replies; any other table is returned as it is.
local REPLY_STATUS, REPLY_ERROR, REPLY_RELAYED_ERROR, REPLY_ARRAY = 1, 2, 3, 4
local UNPACKED_MAX = 4000  -- well inside the Lua stack's room for unpacked values
local function shaped_reply(ok, result)
  if not ok or type(result) ~= "table" then return ok, result end
  local err = rawget(result, "err")
  if type(err) == "string" then
    return ok, err, rawget(result, "ignore_error_stats_update") == true and REPLY_RELAYED_ERROR or REPLY_ERROR
  end
  local status = rawget(result, "ok")
  if type(status) == "string" then return ok, status, REPLY_STATUS end
  if rawget(result, "double") ~= nil or rawget(result, "big_number") ~= nil or rawget(result, "map") ~= nil
      or rawget(result, "set") ~= nil or rawget(result, "verbatim_string") ~= nil then
    return ok, result  -- a RESP3 type table: Python reads it
  end
  local n = 0
  while n < UNPACKED_MAX and rawget(result, n + 1) ~= nil do n = n + 1 end
  if n == UNPACKED_MAX then return ok, result end
  return ok, n, REPLY_ARRAY, unpack(result, 1, n)
end

local function run_protected(hook_count, fn)
  if hook_count ~= hooked then
    if hook_count > 0 then debug_sethook(busy_hook, "", hook_count) else debug_sethook() end
    hooked = hook_count
  end
  local ok, result = raw_xpcall(fn, handler)
  if hooked < 0 then clear_hook() end  -- the stopped script's per-line hook must go with it
  return shaped_reply(ok, result)
end

-- KEYS and ARGV tables from a call's arguments (fresh tables: scripts may change them).
local function split_arguments(nkeys, ...)
  if nkeys == 0 then return {}, {...} end
  if nkeys == 1 then return {(...)}, {select(2, ...)} end
  if nkeys == select("#", ...) then return {...}, {} end
  local all = {...}
  return {unpack(all, 1, nkeys)}, {unpack(all, nkeys + 1)}
end

helpers.compile = compile

if mode == "eval" then
  globals.__redis__err__handler = handler
  -- EVAL: KEYS and ARGV are globals, set before each run.
  function helpers.run(fn, hook_count, nkeys, ...)
    globals.KEYS, globals.ARGV = split_arguments(nkeys, ...)  -- raw sets: no __newindex
    return run_protected(hook_count, fn)
  end
else
  -- FCALL: the function gets the keys and arguments tables.
  function helpers.run(fn, hook_count, nkeys, ...)
    local keys, argv = split_arguments(nkeys, ...)
    return run_protected(hook_count, function() return fn(keys, argv) end)
  end

  -- While a library's code runs, its globals are only `redis` with register_function, log and
  -- the version constants (Redis's library API); afterwards its functions see the full globals.
  local load_hook = stopping_hook(py.check_load)
  local library_redis = constants({register_function = py.register_function, log = py.log})
  setmetatable(library_redis, {__index = missing_global})
  local library_api = setmetatable({redis = readonly(library_redis)}, {__index = missing_global})

  function helpers.load_library(chunk, hook_count)
    env_meta.__index = library_api
    if hook_count > 0 then debug_sethook(load_hook, "", hook_count) end
    local ok, err = raw_pcall(chunk)
    clear_hook()
    env_meta.__index = globals
    if ok then return true end
    return false, normalize(err)
  end
end

return helpers
