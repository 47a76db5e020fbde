-- counter_algebra.lua: Python's Counter arithmetic (+, -, |, &, unary + and
-- -) of a Counter's hash and an operand, returned, or stored in place of
-- the hash once per request.
--
-- KEYS[1]: the counter's hash
-- KEYS[2]: when ARGV[2] is "store", this request's dedupe record (a string
--          in the hash's slot)
-- KEYS[3] (KEYS[2] when reading): the operand's hash, when it is read here
-- ARGV[1]: "add" (a + b), "sub" (a - b), "or" (max), "and" (min), "pos"
--          (+a) or "neg" (-a); the last two take no operand
-- ARGV[2]: "read" or "store"
-- ARGV[3]: the dedupe window in milliseconds (the record's time to live)
-- ARGV[4]: the operand's name in error messages (its key, or "map")
-- ARGV[5..]: without an operand key, the operand as pairs (field, count)
--
-- A missing field counts 0, and the result keeps only the positive counts,
-- as Python's operators do. Reading returns the result as pairs (field,
-- count). Storing replaces the hash with it, writing only the fields that
-- change (so the key keeps its TTL), and returns the number of fields
-- left; a request that already ran (its record exists) returns what it
-- returned then and changes nothing. The arithmetic is exact on 64-bit
-- integers (Lua's numbers are doubles: a count is split in two parts).
-- Raises, writing nothing: WRONGTYPE when a key holds another type; "hash
-- value is not an integer" when a count (of either side) is not one as
-- Redis' HINCRBY reads them; "increment or decrement would overflow" when
-- a positive result does not fit an int64 (a negative one is dropped).
local op, store = ARGV[1], ARGV[2] == 'store'
local rec = store and KEYS[2] or nil
local okey = KEYS[store and 3 or 2]
if rec then
  local prev = redis.call('GET', rec)
  if prev then
    return tonumber(prev)
  end
end
for _, key in ipairs({KEYS[1], okey}) do
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'none' and t ~= 'hash' then
    return redis.error_reply('WRONGTYPE ' .. key .. ' holds a ' .. t .. ', not a hash')
  end
end

-- A count is {h, l}: the value h * B + l, h and l of its sign (or zero).
local B = 1e9
local MAXH, MAXL, MINL = 9223372036, 854775807, 854775808

-- parse returns the count s holds, or nil when s is not a canonical int64
-- (Redis' rule: no sign but '-', no leading zero, no "-0").
local function parse(s)
  local neg = s:sub(1, 1) == '-'
  local d = neg and s:sub(2) or s
  if s ~= '0' and (#d > 19 or not d:match('^[1-9]%d*$')) then
    return nil
  end
  local h, l = 0, tonumber(d:sub(-9))
  if #d > 9 then
    h = tonumber(d:sub(1, #d - 9))
  end
  if h > MAXH or (h == MAXH and l > (neg and MINL or MAXL)) then
    return nil
  end
  if neg then
    return {-h, -l}
  end
  return {h, l}
end

local function norm(h, l)
  local c = math.floor(l / B)
  h, l = h + c, l - c * B
  if h < 0 and l > 0 then
    h, l = h + 1, l - B
  end
  return {h, l}
end

local function add(a, b) return norm(a[1] + b[1], a[2] + b[2]) end
local function neg(a) return {-a[1], -a[2]} end
local function positive(a) return a[1] > 0 or (a[1] == 0 and a[2] > 0) end
local function less(a, b) return positive(add(b, neg(a))) end

-- format returns the decimal form of a positive count, or nil when it
-- exceeds an int64.
local function format(a)
  local h, l = a[1], a[2]
  if h > MAXH or (h == MAXH and l > MAXL) then
    return nil
  end
  if h == 0 then
    return string.format('%d', l)
  end
  return string.format('%d%09d', h, l)
end

-- load reads the pairs of flat from index i on into a table of counts and
-- the list of its fields.
local function load(flat, i, key)
  local counts, fields, raw = {}, {}, {}
  for j = i, #flat, 2 do
    local f, s = flat[j], flat[j + 1]
    local v = parse(s)
    if not v then
      return nil, redis.error_reply('ERR hash value is not an integer: ' .. key .. ' holds ' .. string.format('%q', s:sub(1, 64)))
    end
    if not counts[f] then
      fields[#fields + 1] = f
    end
    counts[f], raw[f] = v, s
  end
  return counts, fields, raw
end

local a, af, araw = load(redis.call('HGETALL', KEYS[1]), 1, KEYS[1])
if not a then
  return af
end
local b, bf = {}, {}
if op ~= 'pos' and op ~= 'neg' then
  if okey then
    b, bf = load(redis.call('HGETALL', okey), 1, okey)
  else
    b, bf = load(ARGV, 5, ARGV[4])
  end
  if not b then
    return bf
  end
end

local zero = {0, 0}
local out, outf = {}, {}
local function put(f, v)
  if positive(v) then
    local s = format(v)
    if not s then
      error({err = 'ERR increment or decrement would overflow: ' .. KEYS[1]})
    end
    out[f] = s
    outf[#outf + 1] = f
  end
end
if op == 'and' then
  for _, f in ipairs(af) do
    if b[f] then
      put(f, less(b[f], a[f]) and b[f] or a[f])
    end
  end
elseif op == 'pos' or op == 'neg' then
  for _, f in ipairs(af) do
    put(f, op == 'neg' and neg(a[f]) or a[f])
  end
else
  for _, f in ipairs(af) do
    local x, y = a[f], b[f] or zero
    if op == 'add' then
      put(f, add(x, y))
    elseif op == 'sub' then
      put(f, add(x, neg(y)))
    else
      put(f, less(x, y) and y or x)
    end
  end
  for _, f in ipairs(bf) do
    if not a[f] then
      put(f, op == 'sub' and neg(b[f]) or b[f])
    end
  end
end

if not store then
  local flat = {}
  for _, f in ipairs(outf) do
    flat[#flat + 1] = f
    flat[#flat + 1] = out[f]
  end
  return flat
end
local del, set = {}, {}
for _, f in ipairs(af) do
  if not out[f] then
    del[#del + 1] = f
  end
end
for _, f in ipairs(outf) do
  if out[f] ~= araw[f] then
    set[#set + 1] = f
    set[#set + 1] = out[f]
  end
end
for i = 1, #del, 1000 do
  redis.call('HDEL', KEYS[1], unpack(del, i, math.min(i + 999, #del)))
end
for i = 1, #set, 1000 do
  redis.call('HSET', KEYS[1], unpack(set, i, math.min(i + 999, #set)))
end
local n = redis.call('HLEN', KEYS[1])
redis.call('SET', rec, n, 'PX', ARGV[3])
return n
