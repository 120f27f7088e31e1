-- REGENERATE: moves a locked session to a new ID in the same slot, at once.
-- KEYS: old data, old lock, exp, new data, new lock. ARGV: old member,
-- new member, token, lock_ttl ms, deadline ms, data ttl ms, tombstone ttl
-- ms, masked new ID ('' for none).
-- 1: moved; 0: the new ID is taken; -1: the lock is no longer ours;
-- -2: the session is gone.
local held = lock_state(KEYS[2], ARGV[3])
if held == 'done' and redis.call('GET', KEYS[5]) == ARGV[3] then
  return 1
end
if held ~= 'ours' then
  return -1
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2])
  return -2
end
if redis.call('EXISTS', KEYS[4]) == 1 or is_held(redis.call('GET', KEYS[5])) then
  return 0
end
redis.call('RENAME', KEYS[1], KEYS[4])
if ARGV[8] ~= '' then
  redis.call('HSET', KEYS[4], 'k', ARGV[8])
end
finish(KEYS[2], ARGV[3], ARGV[7])
redis.call('SET', KEYS[5], ARGV[3], 'PX', ARGV[4])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[2])
redis.call('PEXPIRE', KEYS[4], ARGV[6])
return 1
