-- provider_remove: sessions taken out of an identity provider's session's
-- index once revoked. KEYS[1] the index; ARGV: public ids (at most walk).
-- The index goes with its last entry.

if #ARGV > 0 then redis.call('ZREM', KEYS[1], unpack(ARGV)) end
return 1
