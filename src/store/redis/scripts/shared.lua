-- GET-SHARED (read-only), one round trip, takes no lock: waits (by the
-- caller polling) only while a writer holds the session; slides the expiry
-- only when that moves it by at least the refresh interval.
-- KEYS: data, lock, exp. ARGV: member, now ms, grace ms, refresh ms.
-- {0}: not found; {1, fields}; {2}: locked by a writer; {3}: expired.
if is_held(redis.call('GET', KEYS[2])) then
  return {2}
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {0}
end
local now = tonumber(ARGV[2])
local score = redis.call('ZSCORE', KEYS[3], ARGV[1])
if score and tonumber(score) <= now then
  return {3}
end
local fields = redis.call('HGETALL', KEYS[1])
local ta = redis.call('HMGET', KEYS[1], 't', 'a')
local deadline = deadline_of(now, ta[1], ta[2])
if deadline and (not score or deadline - tonumber(score) >= tonumber(ARGV[4])) then
  touch(KEYS[1], KEYS[3], ARGV[1], now, deadline, tonumber(ARGV[3]))
end
return {1, fields}
