-- Staff login failures counted per (account, client network) instead of per account (issue 16,
-- item 5): five anonymous wrong passwords used to lock an account for everyone, its owner
-- included. Now a lock holds only for the network the failures came from (/24 for IPv4, /64 for
-- IPv6, after trusted-proxy resolution), so the owner signs in from elsewhere while an attacker
-- hammers from theirs. Admins see the recent rows on the staff page.
--
-- Additive: login_failures stays (an instance still running the previous version keeps using
-- it until it is upgraded); this version neither reads nor writes it.
CREATE TABLE staff_login_failures (
    -- the keyed hash of the address typed (known or not), as in login_failures
    email_hash      TEXT NOT NULL,
    -- the client network, masked: '203.0.113.0/24', '2001:db8:1:2::/64' ('unknown' without a peer)
    network         TEXT NOT NULL,
    failures        INTEGER NOT NULL,
    locked_until    BIGINT NOT NULL DEFAULT 0,
    first_at        BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (email_hash, network)
);
-- Stale rows are pruned by age as new failures come.
CREATE INDEX staff_login_failures_updated ON staff_login_failures (updated_at);
