-- SLIDE (a read-only request, at most once per refresh interval): moves
-- the deadline E later and the data's TTL with it -- only if E is still
-- the one the request read: a writer that saved meanwhile (a shorter
-- Timeout, say) set E itself, and a stale read must not undo that. A
-- writer that took the session since keeps the TTL its lock needs. Never
-- creates a key.
-- KEYS: data. ARGV: deadline ms, data ttl ms, E as read, grace ms.
-- 1: slid; 0: gone, or E changed since it was read.
local v = redis.call('HMGET', KEYS[1], 'E', 'L')
local e = tonumber(v[1])
if not e or e ~= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], 'E', ARGV[1])
expire_past_lock(KEYS[1], ARGV[2], v[2], ARGV[4])
return 1
