-- SLIDE (a read-only request, at most once per refresh interval): moves
-- the deadline E later and the data's TTL with it -- only if E is still
-- the one the request read: a writer that saved meanwhile (a shorter
-- Timeout, say) set E itself, and a stale read must not undo that. A
-- writer that took the session since keeps the TTL its lock needs. Never
-- creates a session; files it again, at the old E, in an index that lacks
-- it (deleted or evicted), lest it end unseen by the sweeper.
-- KEYS: data, exp. ARGV: deadline ms, data ttl ms, E as read, grace ms,
-- member.
-- 1: slid; 0: gone, or E changed since it was read.
local v = redis.call('HMGET', KEYS[1], 'E', 'L')
local e = tonumber(v[1])
if not e or e ~= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], 'E', ARGV[1])
redis.call('ZADD', KEYS[2], 'NX', v[1], ARGV[5])
expire_past_lock(KEYS[1], ARGV[2], v[2], ARGV[4])
return 1
