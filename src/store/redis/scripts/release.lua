-- RELEASE without saving: unlocks if the lock is ours.
-- KEYS: data. ARGV: token. 1: released; 0: not ours.
local l = redis.call('HGET', KEYS[1], 'L')
if l == ARGV[1] then
  return 1
end
if not ours(l, ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'L', ARGV[1])
return 1
