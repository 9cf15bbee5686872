-- 0002_auth — what sign-up, link and 2FA need beyond 0001 (issue 6).
-- No BEGIN/COMMIT: portalctl migrate wraps the file in one transaction.

-- A sign-up in progress, keyed by the Salesforce account. The row is written
-- before WHMCS AddClient and holds the client id the moment WHMCS returns it,
-- so a retry after any later failure adopts that client instead of creating
-- a second one (docs/signup.md). Deleted in the transaction that creates the
-- portal user. claimed_until serialises concurrent attempts on one account.
CREATE TABLE signup_pending (
	sf_account_id   sf_id18 PRIMARY KEY,
	customer_number text NOT NULL CHECK (length(customer_number) BETWEEN 1 AND 64),
	email           text NOT NULL CHECK (email = lower(email)),
	whmcs_client_id bigint CHECK (whmcs_client_id > 0),
	attempts        integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
	claimed_until   timestamptz,
	created_at      timestamptz NOT NULL DEFAULT now(),
	updated_at      timestamptz NOT NULL DEFAULT now()
);

-- NULL until WHMCS_Client_ID__c / Portal_Status__c reached Salesforce: a
-- failed write-back leaves the user active and is completed at the next
-- login (or by an operator), never forgotten.
ALTER TABLE id_mappings ADD COLUMN sf_synced_at timestamptz;
UPDATE id_mappings SET sf_synced_at = created_at;
CREATE INDEX id_mappings_unsynced_idx ON id_mappings (user_id) WHERE sf_synced_at IS NULL;

-- RFC 6238 replay guard: the last accepted time step; a code of that step
-- or an earlier one is refused.
ALTER TABLE users ADD COLUMN totp_last_step bigint;
