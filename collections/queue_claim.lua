-- queue_claim.lua: take the item at the front of a ReliableQueue and keep
-- it in flight until it is settled or its visibility timeout ends; first
-- return to the queue the deliveries whose timeout has ended.
--
-- KEYS[1]: the queue's list (items pushed at the left, taken at the right)
-- KEYS[2]: the in-flight sorted set: delivery id -> deadline (unix ms)
-- KEYS[3]: the deliveries hash: delivery id -> item
-- ARGV[1]: the visibility timeout in milliseconds
-- ARGV[2]: the id of this delivery (a fresh random token)
-- ARGV[3]: (optional) "check": take nothing, only return the delivery's
--          item if this claim took one ({1, item}), else {0, -1}
--
-- Returns {1, item} when an item was taken, else {0, wait}: wait is the
-- number of milliseconds until the earliest in-flight deadline, -1 when
-- nothing is in flight. Time is the server's (TIME). A claim run again
-- with the id of a delivery still in flight (go-redis sent it again after
-- losing the reply) returns that delivery's item and takes nothing.
--
-- A key of another type raises WRONGTYPE, changing nothing: the hash and
-- the sorted set are read before anything is written, and the first write
-- to the list (RPUSH or RPOP) comes before any other write.
local mine = redis.call('HGET', KEYS[3], ARGV[2])
if mine then
  return {1, mine}
end
if ARGV[3] == 'check' then
  return {0, -1}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

-- Expired deliveries go back to the front, the earliest deadline frontmost.
local expired = redis.call('ZRANGE', KEYS[2], '-inf', now, 'BYSCORE', 'LIMIT', 0, 100)
for i = #expired, 1, -1 do
  local item = redis.call('HGET', KEYS[3], expired[i])
  if item then
    redis.call('RPUSH', KEYS[1], item)
  end
  redis.call('HDEL', KEYS[3], expired[i])
  redis.call('ZREM', KEYS[2], expired[i])
end

local item = redis.call('RPOP', KEYS[1])
if item then
  redis.call('HSET', KEYS[3], ARGV[2], item)
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), ARGV[2])
  return {1, item}
end
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if first[2] then
  return {0, math.max(tonumber(first[2]) - now, 0)}
end
return {0, -1}
