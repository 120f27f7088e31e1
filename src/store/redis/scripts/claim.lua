-- CLAIM (the sweeper): takes an expired session that no request holds --
-- reads it and moves it aside in one step, so no two processes end it.
-- The index is a lower bound of each deadline E (saves do not touch it): a
-- session found not due is re-indexed at E.
-- KEYS: data, exp, claimed (the data key's name with this claim's token).
-- ARGV: member (as the index holds it), now ms (the application's, for
-- E), tombstone ttl ms.
-- {0}: not due or damaged (re-indexed), or gone; {1, fields}: claimed (by
-- this very call, retried after a lost reply, too); {2}: in use.
local v = redis.call('HMGET', KEYS[1], 'E', 'L')
local e = deadline(v[1])
if not e and (v[1] or redis.call('HEXISTS', KEYS[1], 'M') == 1) then
  -- A session with a damaged or missing E: kept indexed where its data
  -- expires (the tombstone ttl on, if it has no TTL), out of the sweeps'
  -- way meanwhile; repaired by then, it still ends with Session_OnEnd.
  local ttl = math.max(redis.call('PTTL', KEYS[1]), tonumber(ARGV[3]))
  redis.call('ZADD', KEYS[2], tonumber(ARGV[2]) + ttl, ARGV[1])
  return {0}
end
if not e then
  -- Gone: perhaps moved aside by this very call (looked for only then).
  local c = redis.call('HGETALL', KEYS[3])
  if #c > 0 then
    return {1, c}
  end
  redis.call('ZREM', KEYS[2], ARGV[1])
  return {0}
end
if e > tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[2], v[1], ARGV[1])
  return {0}
end
if held(v[2], server_ms()) then
  return {2}
end
local fields = redis.call('HGETALL', KEYS[1])
claim(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[3])
return {1, fields}
