-- Prepended to every script. A lock key holds its owner's token while held;
-- 'd:' .. token once that owner is done (a short-lived tombstone that lets a
-- retried call recognise its own effect). A tombstone is a free lock.
local function is_held(v)
  return v and string.sub(v, 1, 2) ~= 'd:'
end

local function int(x)
  return string.format('%d', x)
end

-- The deadline of a session touched at `now`: `t` minutes later, capped by
-- the absolute lifetime `a` (ms, 0: none); nil if `t` is unreadable (the
-- caller then rejects the data and the expiry is left alone).
local function deadline_of(now, t, a)
  t = tonumber(t)
  if not t or t < 1 then
    return nil
  end
  local d = now + t * 60000
  a = tonumber(a) or 0
  if a > 0 and a < d then
    d = a
  end
  return d
end

-- Slides the expiry: the index entry and the data's TTL (deadline + grace).
local function touch(data, exp, member, now, deadline, grace)
  if not deadline then
    return
  end
  redis.call('ZADD', exp, int(deadline), member)
  redis.call('PEXPIRE', data, int(math.max(1, deadline - now + grace)))
end

-- HSET of the field/value pairs args[from..to], in bounded chunks.
local function hset_range(key, args, from, to)
  local i = from
  while i <= to do
    local j = math.min(i + 999, to)
    redis.call('HSET', key, unpack(args, i, j))
    i = j + 1
  end
end

-- HDEL of the fields args[from..to], in bounded chunks.
local function hdel_range(key, args, from, to)
  local i = from
  while i <= to do
    local j = math.min(i + 999, to)
    redis.call('HDEL', key, unpack(args, i, j))
    i = j + 1
  end
end

