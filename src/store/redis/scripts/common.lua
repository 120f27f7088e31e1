-- Prepended to every script. A lock key holds its owner's token while held;
-- 'd:' .. token once that owner is done (a short-lived tombstone that lets a
-- retried call recognise its own effect). A tombstone is a free lock.
local function is_held(v)
  return v and string.sub(v, 1, 2) ~= 'd:'
end

-- Whether the lock key `lock` is still held for `token`: 'ours'; 'done'
-- if it holds that token's tombstone (a retried call whose effect is
-- already there); nil if another holds it or it is free (the lock is lost).
local function lock_state(lock, token)
  local v = redis.call('GET', lock)
  if v == token then
    return 'ours'
  end
  if v == 'd:' .. token then
    return 'done'
  end
  return nil
end

-- Ends `token`'s hold on `lock`, leaving its tombstone for `ttl` ms.
local function finish(lock, token, ttl)
  redis.call('SET', lock, 'd:' .. token, 'PX', ttl)
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

