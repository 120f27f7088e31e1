-- HSET of the field/value pairs args[from..to], in bounded chunks.
local function hset_range(key, args, from, to)
  local i = from
  while i <= to do
    local j = math.min(i + 999, to)
    redis.call('HSET', key, unpack(args, i, j))
    i = j + 1
  end
end
