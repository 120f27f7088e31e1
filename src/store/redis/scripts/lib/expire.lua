-- Sets the TTL of `key` to `ttl` ms, or longer while L value `l` is a lock
-- still held (one past any lease is none: see `lease_left`): the data
-- outlives the lock by `grace` ms, so its holder never loses the session,
-- and the sweeper still finds it once the lock frees.
local function expire_past_lock(key, ttl, l, grace)
  ttl = tonumber(ttl)
  local left = lock_expiry(l) and lease_left(l, server_ms())
  if left then
    ttl = math.max(ttl, left + tonumber(grace))
  end
  redis.call('PEXPIRE', key, string.format('%d', ttl))
end
