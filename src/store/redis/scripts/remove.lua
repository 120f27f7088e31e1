-- REMOVE (Abandon): deletes the session, only while the lock is ours (and
-- unexpired), leaving only its L mark for the tombstone ttl (a retried
-- call sees it).
-- KEYS: data, exp. ARGV: member, token, tombstone ttl ms.
-- 1: removed; -1: the lock expired or is another's; -2: no session there.
local l = redis.call('HGET', KEYS[1], 'L')
if l == ARGV[2] then
  return 1
end
if not l then
  return -2
end
if not ours(l, ARGV[2]) or not held(l, server_ms()) then
  return -1
end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'L', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
