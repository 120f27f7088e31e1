-- Prepended to every script. A session is one hash: its items, and the
-- fields M (meta), E (deadline ms), L (lock) and K (masked ID). L holds
-- '<token>:<expiry ms>' while a request holds the session, and '<token>'
-- once that request is done: the last holder's mark, which lets a call
-- retried after a lost reply recognise its own effect.

-- Whether L value `l` (false: none) is a lock still held at `now`. Its
-- expiry is the 1 to 19 digits after the first ':'; a value without one
-- is no lock (garbled too: `codec::lock_of` reads L the same way).
local function held(l, now)
  local x = l and string.match(l, '^[^:]*:(%d+)$')
  return x and #x <= 19 and tonumber(x) > now
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

