-- Counts the set bits of a Bloom filter (after bloom_check.lua's prelude).
--
-- KEYS[1] the filter's bits
-- KEYS[2] the filter's parameters
-- ARGV[1] the parameters this client opened the filter with
--
-- Returns the number of set bits, 0 for a filter that does not exist yet.
if not checkParams(false) then
  return 0
end
return redis.call('BITCOUNT', KEYS[1])
