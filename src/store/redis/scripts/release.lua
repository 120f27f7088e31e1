-- RELEASE without saving: unlocks if the lock is ours.
-- KEYS: data. ARGV: token. 1: released; 0: not ours.
-- A server out of memory refuses the HSET that leaves the release mark
-- (the save it follows was refused the same way): the lock field is then
-- deleted, which Redis allows (it frees memory), so a request that is over
-- never holds the session for its lock's lease.
local l = redis.call('HGET', KEYS[1], 'L')
if l == ARGV[1] then
  return 1
end
if not ours(l, ARGV[1]) then
  return 0
end
local set = redis.pcall('HSET', KEYS[1], 'L', ARGV[1])
if type(set) == 'table' and set.err then
  if not string.find(set.err, 'OOM', 1, true) then
    return redis.error_reply(set.err)
  end
  redis.call('HDEL', KEYS[1], 'L')
end
return 1
