-- CLAIM (the sweeper): takes an expired session that no request holds --
-- reads and deletes it in one step, so exactly one process ends it.
-- KEYS: data, lock, exp. ARGV: member, now ms.
-- {0}: not due (touched since) or gone; {1, fields}: claimed; {2}: in use.
local score = redis.call('ZSCORE', KEYS[3], ARGV[1])
if not score or tonumber(score) > tonumber(ARGV[2]) then
  return {0}
end
if is_held(redis.call('GET', KEYS[2])) then
  return {2}
end
local fields = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
if #fields == 0 then
  return {0}
end
return {1, fields}
