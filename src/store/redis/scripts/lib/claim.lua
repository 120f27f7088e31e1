-- Claims session `data` for Session_OnEnd: renames it to `claimed` (its
-- name with the claim's token, same slot), kept `ttl` ms for a retried
-- claim to find, and drops `member` from the index `exp` (first: an
-- index of the wrong type fails the call before it writes, as Lua does
-- not roll back; every script touches the index before the data so).
local function claim(data, exp, claimed, member, ttl)
  redis.call('ZREM', exp, member)
  redis.call('RENAME', data, claimed)
  redis.call('PEXPIRE', claimed, ttl)
end

-- Deadline E's value `e` (false: none) as a number: 1 to 19 decimal
-- digits, as `codec::number` reads it; nil for none, or for damage that
-- `tonumber` would take ('-5', '1e3', ' 5', 'inf', 'nan', ...).
local function deadline(e)
  if e and #e <= 19 and not string.find(e, '%D') then
    return tonumber(e)
  end
end
