-- RELEASE without saving: unlocks if the lock is ours.
-- KEYS: lock. ARGV: token, tombstone ttl ms. 1: released; 0: not ours.
local held = lock_state(KEYS[1], ARGV[1])
if held == 'done' then
  return 1
end
if not held then
  return 0
end
finish(KEYS[1], ARGV[1], ARGV[2])
return 1
