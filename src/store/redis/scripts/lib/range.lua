-- redis.call(cmd, key, args[from..to]...) in bounded chunks (Lua's `unpack`
-- spreads at most about 8,000 values: past that a script would fail after
-- its first writes, leaving a save half done). HSET's field/value pairs
-- stay whole: a chunk is an even count.
local function call_range(cmd, key, args, from, to)
  local i = from
  while i <= to do
    local j = math.min(i + 999, to)
    redis.call(cmd, key, unpack(args, i, j))
    i = j + 1
  end
end
