-- Sets the TTL of `key` to `ttl` ms, or longer while L value `l` is a lock
-- still held: the data outlives the lock by `grace` ms, so its holder never
-- loses the session, and the sweeper still finds it once the lock frees.
local function expire_past_lock(key, ttl, l, grace)
  ttl = tonumber(ttl)
  local x = lock_expiry(l)
  if x then
    ttl = math.max(ttl, x - server_ms() + tonumber(grace))
  end
  redis.call('PEXPIRE', key, string.format('%d', ttl))
end
