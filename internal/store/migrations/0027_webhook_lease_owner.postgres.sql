-- Webhook deliveries take part in claim ownership (leases.go): a claim
-- records the instance that made it, so a dead instance's deliveries are
-- due again within seconds, not when their lease runs out.
ALTER TABLE webhook_deliveries ADD COLUMN lease_owner TEXT;
CREATE INDEX webhook_deliveries_lease_owner ON webhook_deliveries (lease_owner) WHERE lease_owner IS NOT NULL;
