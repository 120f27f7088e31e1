-- Prepended to every script. A session is one hash: its items, and the
-- fields M (meta), E (deadline ms), L (lock) and K (masked ID). L holds
-- '<token>:<expiry ms>' while a request holds the session, and '<token>'
-- once that request is done: the last holder's mark, which lets a call
-- retried after a lost reply recognise its own effect.
--
-- Two clocks: E is the application clock's (the caller passes its `now`
-- where E is judged); a lock's expiry is the server's, read here, so the
-- processes of a farm agree on every lock however their clocks disagree.
-- (A script may write after reading TIME since Redis 5, which replicates
-- a script's effects rather than the script.)

-- The server's clock, in ms.
local function server_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The expiry (server ms) of L value `l` (false: none): the 1 to 19 digits
-- after the first ':'. nil for a value without one: no lock (garbled too;
-- `codec::has_lease` reads L the same way).
local function lock_expiry(l)
  local x = l and string.match(l, '^[^:]*:(%d+)$')
  if x and #x <= 19 then
    return tonumber(x)
  end
end

-- Whether L value `l` is a lock still held at server time `now`.
local function held(l, now)
  local x = lock_expiry(l)
  return x ~= nil and x > now
end

-- L's value for `token`'s lock, lasting `ttl` ms from server time `now`.
local function lock_for(token, now, ttl)
  return token .. ':' .. string.format('%d', now + tonumber(ttl))
end

-- Sets the TTL of `key` to `ttl` ms, or longer while L value `l` is a lock
-- still held: the data outlives the lock by `grace` ms, so its holder never
-- loses the session, and the sweeper still finds it once the lock frees.
local function expire_past_lock(key, ttl, l, grace)
  ttl = tonumber(ttl)
  local x = lock_expiry(l)
  if x then
    ttl = math.max(ttl, x - server_ms() + tonumber(grace))
  end
  redis.call('PEXPIRE', key, string.format('%d', ttl))
end

-- Whether L value `l` (false: none) is `token`'s lock, expired or not.
local function ours(l, token)
  return l and string.sub(l, 1, #token + 1) == token .. ':'
end

-- Claims session `data` for Session_OnEnd: renames it to `claimed` (its
-- name with the claim's token, same slot), kept `ttl` ms for a retried
-- claim to find, and drops `member` from the index `exp`.
local function claim(data, exp, claimed, member, ttl)
  redis.call('RENAME', data, claimed)
  redis.call('PEXPIRE', claimed, ttl)
  redis.call('ZREM', exp, member)
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

