-- REMOVE (Abandon): deletes the session, only while the lock is ours.
-- KEYS: data, lock, exp. ARGV: member, token, tombstone ttl ms.
-- 1: removed; -1: the lock is no longer ours.
local v = redis.call('GET', KEYS[2])
if v == 'd:' .. ARGV[2] then
  return 1
end
if v ~= ARGV[2] then
  return -1
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('SET', KEYS[2], 'd:' .. ARGV[2], 'PX', ARGV[3])
return 1
