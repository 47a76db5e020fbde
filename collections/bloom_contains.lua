-- Tests elements against a Bloom filter (after bloom_check.lua's prelude).
--
-- KEYS[1] the filter's bits
-- KEYS[2] the filter's parameters
-- ARGV[1] the parameters this client opened the filter with
-- ARGV[2] k, the number of bits per element
-- ARGV[3] the elements' bit positions: k big-endian uint32 per element
--
-- Returns one integer per element: 1 if all its bits are set (probably
-- added), 0 if not (certainly not added). A filter that does not exist yet
-- contains nothing.
local k = tonumber(ARGV[2])
local elements = #ARGV[3] / (4 * k)
local result = {}
if not checkParams(false) then
  for e = 1, elements do
    result[e] = 0
  end
  return result
end
local bits = bitfield(false, ARGV[3])
for e = 1, elements do
  local hit = 1
  for i = (e - 1) * k + 1, e * k do
    if bits[i] == 0 then
      hit = 0
      break
    end
  end
  result[e] = hit
end
return result
