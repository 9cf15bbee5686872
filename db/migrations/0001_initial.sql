-- 0001_initial — the portal's own tables (DESIGN §1: identity, the id
-- mapping, provisioning state, the order outbox, audit). Provider data is
-- never stored here, only ids pointing at it. Applied by `portalctl migrate`
-- inside one transaction: no BEGIN/COMMIT in this file.
-- Status columns carry CHECKs so a bad row cannot exist; timestamps are UTC
-- timestamptz.

-- Salesforce ids are stored in their 18-character, case-safe form.
CREATE DOMAIN sf_id18 AS text CHECK (VALUE ~ '^[A-Za-z0-9]{18}$');

CREATE TABLE users (
	id              bigserial PRIMARY KEY,
	-- stored lower-case so uniqueness is case-insensitive without citext
	email           text NOT NULL CHECK (email = lower(email) AND length(email) BETWEEN 3 AND 254
	                                     AND position('@' IN email) > 1),
	password_hash   text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
	status          text NOT NULL DEFAULT 'active'
	                CHECK (status IN ('active', 'locked', 'disabled')),
	totp_secret_enc bytea,
	totp_enabled    boolean NOT NULL DEFAULT false,
	created_at      timestamptz NOT NULL DEFAULT now(),
	updated_at      timestamptz NOT NULL DEFAULT now(),
	last_login_at   timestamptz,
	CONSTRAINT users_email_key UNIQUE (email),
	CONSTRAINT users_totp_needs_secret CHECK (NOT totp_enabled OR totp_secret_enc IS NOT NULL)
);

-- user ↔ whmcs_client_id ↔ sf_account_id (seed 001: "check id_mappings").
CREATE TABLE id_mappings (
	user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	whmcs_client_id bigint NOT NULL CHECK (whmcs_client_id > 0),
	sf_account_id   sf_id18 NOT NULL,
	created_at      timestamptz NOT NULL DEFAULT now(),
	updated_at      timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT id_mappings_pkey PRIMARY KEY (user_id),
	CONSTRAINT id_mappings_whmcs_client_id_key UNIQUE (whmcs_client_id),
	CONSTRAINT id_mappings_sf_account_id_key UNIQUE (sf_account_id)
);

-- One row per Salesforce order: the step reached and the WHMCS order id,
-- written the moment WHMCS returns it (exactly-once, resolutions §5).
CREATE TABLE provisioning_runs (
	sf_order_id             sf_id18 PRIMARY KEY,
	sf_account_id           sf_id18,
	step                    text NOT NULL DEFAULT 'validation'
	                        CHECK (step IN ('validation', 'sf_status_update', 'order_details',
	                                        'mapping', 'whmcs_create', 'whmcs_accept',
	                                        'freebit_activate', 'whmcs_link_line',
	                                        'sf_success_update', 'done')),
	status                  text NOT NULL DEFAULT 'running'
	                        CHECK (status IN ('running', 'succeeded', 'failed')),
	whmcs_order_id          bigint CHECK (whmcs_order_id > 0),
	whmcs_create_started_at timestamptz,
	error_code              text,
	error_message           text,
	attempts                integer NOT NULL DEFAULT 1 CHECK (attempts >= 0),
	started_at              timestamptz NOT NULL DEFAULT now(),
	updated_at              timestamptz NOT NULL DEFAULT now(),
	finished_at             timestamptz,
	CONSTRAINT provisioning_runs_failed_has_code
		CHECK (status <> 'failed' OR error_code IS NOT NULL),
	CONSTRAINT provisioning_runs_finished
		CHECK ((status = 'running') = (finished_at IS NULL))
);
CREATE INDEX provisioning_runs_status_idx ON provisioning_runs (status, updated_at);

-- Step log, for `portalctl orders show` and the runbook's step names.
CREATE TABLE provisioning_steps (
	id          bigserial PRIMARY KEY,
	sf_order_id sf_id18 NOT NULL REFERENCES provisioning_runs (sf_order_id) ON DELETE CASCADE,
	step        text NOT NULL CHECK (length(step) BETWEEN 1 AND 64),
	status      text NOT NULL CHECK (status IN ('started', 'succeeded', 'failed', 'skipped')),
	detail      text,
	at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX provisioning_steps_order_idx ON provisioning_steps (sf_order_id, at);

-- Orders accepted while Salesforce is down (DESIGN §5 Fallbacks): id is the
-- uuid of the customer-visible "q_<uuid>".
CREATE TABLE order_outbox (
	id              uuid PRIMARY KEY,
	user_id         bigint REFERENCES users (id) ON DELETE SET NULL,
	sf_account_id   sf_id18 NOT NULL,
	idempotency_key text NOT NULL CHECK (idempotency_key ~ '^[A-Za-z0-9_-]{1,64}$'),
	payload         jsonb NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
	status          text NOT NULL DEFAULT 'queued'
	                CHECK (status IN ('queued', 'submitting', 'submitted', 'failed')),
	attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	sf_order_id     sf_id18,
	created_at      timestamptz NOT NULL DEFAULT now(),
	submitted_at    timestamptz,
	last_error      text,
	CONSTRAINT order_outbox_account_key_key UNIQUE (sf_account_id, idempotency_key),
	CONSTRAINT order_outbox_submitted_has_order
		CHECK (status <> 'submitted' OR (sf_order_id IS NOT NULL AND submitted_at IS NOT NULL))
);
CREATE INDEX order_outbox_pending_idx ON order_outbox (created_at) WHERE status IN ('queued', 'submitting');

CREATE TABLE audit_log (
	id         bigserial PRIMARY KEY,
	at         timestamptz NOT NULL DEFAULT now(),
	user_id    bigint REFERENCES users (id) ON DELETE SET NULL,
	actor      text NOT NULL CHECK (actor IN ('customer', 'operator', 'system')),
	action     text NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
	target     text,
	detail     jsonb,
	request_id text
);
CREATE INDEX audit_log_user_idx ON audit_log (user_id, at);

-- Webhook ids seen (resolutions §17: a repeated id is answered 200, no effect).
CREATE TABLE webhook_events (
	event_id    text PRIMARY KEY CHECK (length(event_id) BETWEEN 1 AND 128),
	source      text NOT NULL CHECK (source IN ('whmcs', 'salesforce', 'freebit')),
	received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_events_received_idx ON webhook_events (received_at);

-- Only the SHA-256 of a reset token is stored: a database leak yields no
-- usable link.
CREATE TABLE password_reset_tokens (
	token_hash text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
	user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL,
	used_at    timestamptz,
	CHECK (expires_at > created_at)
);
CREATE INDEX password_reset_tokens_user_idx ON password_reset_tokens (user_id);

CREATE TABLE recovery_codes (
	id         bigserial PRIMARY KEY,
	user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	code_hash  text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	used_at    timestamptz,
	CONSTRAINT recovery_codes_user_code_key UNIQUE (user_id, code_hash)
);

-- SIM top-ups (resolutions §23): quota first, then billing; each state is
-- recorded so a crash between the two is finished, not repeated.
CREATE TABLE sim_topups (
	id               bigserial PRIMARY KEY,
	user_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	whmcs_service_id bigint NOT NULL CHECK (whmcs_service_id > 0),
	msisdn           text NOT NULL CHECK (msisdn ~ '^[0-9]{10,15}$'),
	quota_mb         integer NOT NULL CHECK (quota_mb > 0),
	price            integer NOT NULL CHECK (price >= 0),   -- JPY
	idempotency_key  text NOT NULL CHECK (idempotency_key ~ '^[A-Za-z0-9_-]{1,64}$'),
	status           text NOT NULL DEFAULT 'pending'
	                 CHECK (status IN ('pending', 'quota_added', 'billing_pending', 'billed', 'failed')),
	error_code       text,
	created_at       timestamptz NOT NULL DEFAULT now(),
	updated_at       timestamptz NOT NULL DEFAULT now(),
	quota_added_at   timestamptz,
	billed_at        timestamptz,
	CONSTRAINT sim_topups_user_key_key UNIQUE (user_id, idempotency_key)
);
CREATE INDEX sim_topups_open_idx ON sim_topups (status) WHERE status IN ('pending', 'quota_added', 'billing_pending');

-- Per-line data-usage alert thresholds (GET|PUT /api/sim/{id}/alerts).
CREATE TABLE usage_alerts (
	id               bigserial PRIMARY KEY,
	user_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	whmcs_service_id bigint NOT NULL CHECK (whmcs_service_id > 0),
	threshold_pct    integer NOT NULL CHECK (threshold_pct BETWEEN 1 AND 100),
	enabled          boolean NOT NULL DEFAULT true,
	last_fired_at    timestamptz,
	created_at       timestamptz NOT NULL DEFAULT now(),
	updated_at       timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT usage_alerts_service_threshold_key UNIQUE (user_id, whmcs_service_id, threshold_pct)
);

CREATE TABLE notifications (
	id         bigserial PRIMARY KEY,
	user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	kind       text NOT NULL CHECK (kind ~ '^[a-z_]{1,64}$'),
	title      text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
	body       text,
	data       jsonb,
	created_at timestamptz NOT NULL DEFAULT now(),
	read_at    timestamptz
);
CREATE INDEX notifications_user_idx ON notifications (user_id, created_at DESC);
