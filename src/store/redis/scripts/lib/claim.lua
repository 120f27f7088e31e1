-- Claims session `data` for Session_OnEnd: renames it to `claimed` (its
-- name with the claim's token, same slot), kept `ttl` ms for a retried
-- claim to find, and drops `member` from the index `exp`.
local function claim(data, exp, claimed, member, ttl)
  redis.call('RENAME', data, claimed)
  redis.call('PEXPIRE', claimed, ttl)
  redis.call('ZREM', exp, member)
end
