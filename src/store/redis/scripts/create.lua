-- CREATE-IF-ABSENT: stores a new session, locked for its creator.
-- KEYS: data, lock, exp. ARGV: member, token, lock_ttl ms, deadline ms,
-- data ttl ms, then field/value pairs.
-- 1: created (or already created by this very call, retried); 0: ID taken.
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('GET', KEYS[2]) == ARGV[2] then
    return 1
  end
  return 0
end
hset_range(KEYS[1], ARGV, 6, #ARGV)
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
return 1
