-- HDEL of the fields args[from..to], in bounded chunks (Lua's `unpack`
-- spreads at most about 8,000 values: past that the script would fail
-- after its writes, leaving a save half done).
local function hdel_range(key, args, from, to)
  local i = from
  while i <= to do
    local j = math.min(i + 999, to)
    redis.call('HDEL', key, unpack(args, i, j))
    i = j + 1
  end
end
