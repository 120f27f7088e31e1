-- RELEASE without saving: unlocks if the lock is ours.
-- KEYS: lock. ARGV: token, tombstone ttl ms. 1: released; 0: not ours.
local v = redis.call('GET', KEYS[1])
if v == 'd:' .. ARGV[1] then
  return 1
end
if v ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], 'd:' .. ARGV[1], 'PX', ARGV[2])
return 1
