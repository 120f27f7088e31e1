-- The lock helpers, prepended to every script that reads or writes L (see
-- `scripts.rs`: each script gets only the helpers it calls, since Lua
-- makes each `local function` anew on every run). A session is one hash:
-- its items, and the fields M (meta), E (deadline ms), L (lock) and K
-- (masked ID). L holds '<token>:<expiry ms>' while a request holds the
-- session, and '<token>' once that request is done: the last holder's
-- mark, which lets a call retried after a lost reply recognise its own
-- effect. P keeps the mark a lock was taken over (by acquire), so a save
-- retried after the next request took the lock still finds it ran.
--
-- Two clocks: E is the application clock's (the caller passes its `now`
-- where E is judged); a lock's expiry is the server's, so the processes of
-- a farm agree on every lock however their clocks disagree. A lease found
-- in L is judged by the server's clock read here (TIME); a new lease's end
-- may be placed by the caller's estimate of that clock (see
-- `server_clock.rs`), which saves the read. (A script may write after
-- reading TIME since Redis 5, which replicates a script's effects rather
-- than the script.)

-- The server's clock, in ms.
local function server_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The expiry (server ms) of L value `l` (false: none): the 1 to 19 digits
-- after the first ':'. nil for a value without one: no lock (garbled too;
-- `codec::has_lease` reads L the same way). A released lock (no ':') is
-- told by a plain search, the pattern runs only for a lease.
local function lock_expiry(l)
  local x = l and string.find(l, ':', 1, true) and string.match(l, '^[^:]*:(%d+)$')
  if x and #x <= 19 then
    return tonumber(x)
  end
end

-- The furthest past the server's clock a lease can end: lock_ttl is at
-- most a day (`options.rs`), and this allows the same again for the
-- caller's estimate of the clock. A lease found ending later is damage:
-- no lock (held for ever, it would also make a TTL past what PEXPIRE
-- takes, or one `string.format` wraps negative, dropping the key).
local MAX_LEASE = 172800000

-- The ms left of L value `l`'s lease at server time `now`: nil for no
-- lock, an expired one, or one past MAX_LEASE.
local function lease_left(l, now)
  local x = lock_expiry(l)
  if x and x > now and x - now <= MAX_LEASE then
    return x - now
  end
end

-- Whether L value `l` is a lock still held at server time `now`.
local function held(l, now)
  return lease_left(l, now) ~= nil
end

-- L's value for `token`'s lock, lasting `ttl` ms: from server time `now`
-- if the script read it, else ending at `lease_end` (server ms, as text)
-- as the caller placed it, else ('') from the server's clock read here.
local function lock_for(token, now, lease_end, ttl)
  if not now and lease_end ~= '' then
    return token .. ':' .. lease_end
  end
  return token .. ':' .. string.format('%d', (now or server_ms()) + tonumber(ttl))
end

-- Whether L value `l` (false: none) is `token`'s lock, expired or not
-- (compared in place: no new strings).
local function ours(l, token)
  return l and string.find(l, token, 1, true) == 1 and string.byte(l, #token + 1) == 58
end
