-- SAVE-AND-RELEASE, one round trip: writes only the changed fields, slides
-- the expiry and unlocks -- only while the lock is still ours and the data
-- still exists; otherwise writes nothing.
-- KEYS: data, lock, exp. ARGV: member, token, deadline ms, data ttl ms,
-- tombstone ttl ms, number of pairs n, n field/value pairs, fields to delete.
-- 1: saved; -1: the lock is no longer ours; -2: the session is gone.
local held = lock_state(KEYS[2], ARGV[2])
if held == 'done' then
  return 1
end
if not held then
  return -1
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2])
  return -2
end
local last = 6 + 2 * tonumber(ARGV[6])
hset_range(KEYS[1], ARGV, 7, last)
hdel_range(KEYS[1], ARGV, last + 1, #ARGV)
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
finish(KEYS[2], ARGV[2], ARGV[5])
return 1
