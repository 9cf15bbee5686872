-- 0003_topup_unknown — a SIM top-up whose WHMCS AddBillableItem may or may
-- not have run (timeout or connection lost after the request was sent, a 5xx,
-- a garbled answer). AddBillableItem is not idempotent and WHMCS has no call
-- to look an item up, so such a top-up is never billed again automatically:
-- it waits as billing_unknown until an operator has checked WHMCS for
-- "portal-topup-<id>" and runs `portalctl topups resolve <id> billed|unbilled`
-- (docs/operations.md).
-- No BEGIN/COMMIT: portalctl migrate wraps the file in one transaction.
ALTER TABLE sim_topups DROP CONSTRAINT sim_topups_status_check;
ALTER TABLE sim_topups ADD CONSTRAINT sim_topups_status_check
	CHECK (status IN ('pending', 'quota_added', 'billing_pending', 'billing_unknown', 'billed',
		'failed'));
-- The open ones, as 0001's index, plus billing_unknown (portalctl topups unknown).
DROP INDEX sim_topups_open_idx;
CREATE INDEX sim_topups_open_idx ON sim_topups (status)
	WHERE status IN ('pending', 'quota_added', 'billing_pending', 'billing_unknown');
