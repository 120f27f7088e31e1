-- CREATE-IF-ABSENT: stores a new session, locked for its creator.
-- KEYS: data, exp. ARGV: member, token, lock ttl ms, deadline ms, data ttl
-- ms (past the deadline and the lock's end by the grace), the lease's end
-- in server ms by the caller's estimate of that clock ('': none, read the
-- clock), then field/value pairs (E among them; L is set here).
-- 1: created (or already created by this very call, retried); 0: ID taken.
-- A session this token already created (a call whose reply was lost, or
-- that gave up before a hung server ran it) is stored again whole: the
-- caller may have changed it since, and thinks these fields are stored.
if redis.call('EXISTS', KEYS[1]) == 1 then
  if not ours(redis.call('HGET', KEYS[1], 'L'), ARGV[2]) then
    return 0
  end
  redis.call('DEL', KEYS[1])
end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
call_range('HSET', KEYS[1], ARGV, 7, #ARGV)
redis.call('HSET', KEYS[1], 'L', lock_for(ARGV[2], nil, ARGV[6], ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
