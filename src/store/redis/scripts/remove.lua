-- REMOVE (Abandon): deletes the session, only while the lock is ours.
-- KEYS: data, lock, exp. ARGV: member, token, tombstone ttl ms.
-- 1: removed; -1: the lock is no longer ours.
local held = lock_state(KEYS[2], ARGV[2])
if held == 'done' then
  return 1
end
if not held then
  return -1
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
finish(KEYS[2], ARGV[2], ARGV[3])
return 1
