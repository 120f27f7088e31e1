-- The farm-wide sweeper lease: taken if free, renewed if ours.
-- KEYS: lease. ARGV: owner, ttl ms. 1: ours; 0: another process sweeps.
-- A key of another type (damage) is no lease: SET replaces it.
local v = redis.pcall('GET', KEYS[1])
if type(v) == 'string' and v ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
