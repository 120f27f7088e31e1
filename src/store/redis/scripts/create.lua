-- CREATE-IF-ABSENT: stores a new session, locked for its creator.
-- KEYS: data, exp. ARGV: member, L (held), deadline ms, data ttl ms (past
-- the deadline and the lock's expiry by the grace), then
-- field/value pairs (L and E among them).
-- 1: created (or already created by this very call, retried); 0: ID taken.
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'L') == ARGV[2] then
    return 1
  end
  return 0
end
hset_range(KEYS[1], ARGV, 5, #ARGV)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
return 1
