-- 0001: the first schema. Times are INTEGER unix nanoseconds (UTC), 0 = unset.
-- Lists and opaque documents are JSON text. SQL kept portable (PostgreSQL later).

CREATE TABLE idps (
	name        TEXT PRIMARY KEY,
	entity_id   TEXT NOT NULL,
	sso         TEXT NOT NULL DEFAULT '[]',
	certs       TEXT NOT NULL DEFAULT '[]',
	email_attr  TEXT NOT NULL DEFAULT '',
	groups_attrs TEXT NOT NULL DEFAULT '[]',
	metadata    BLOB,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);

CREATE TABLE cas (
	name        TEXT PRIMARY KEY,
	subject     TEXT NOT NULL,
	fingerprint TEXT NOT NULL UNIQUE,
	cert_pem    TEXT NOT NULL,
	crl_pem     TEXT NOT NULL DEFAULT '',
	crl_path    TEXT NOT NULL DEFAULT '',
	key_sealed  BLOB,
	not_before  INTEGER NOT NULL,
	not_after   INTEGER NOT NULL,
	created_at  INTEGER NOT NULL
);

CREATE TABLE ip_tags (
	name       TEXT PRIMARY KEY,
	cidrs      TEXT NOT NULL DEFAULT '[]',
	updated_at INTEGER NOT NULL
);

CREATE TABLE policies (
	name       TEXT PRIMARY KEY,
	kind       TEXT NOT NULL,
	action     TEXT NOT NULL,
	enabled    INTEGER NOT NULL,
	log_only   INTEGER NOT NULL,
	priority   INTEGER NOT NULL,
	doc        BLOB,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX policies_order ON policies (priority, name);

CREATE TABLE apps (
	name       TEXT PRIMARY KEY,
	template   TEXT NOT NULL,
	idp        TEXT NOT NULL REFERENCES idps (name) ON DELETE RESTRICT ON UPDATE RESTRICT,
	entity_id  TEXT NOT NULL DEFAULT '',
	acs_url    TEXT NOT NULL DEFAULT '',
	domains    TEXT NOT NULL DEFAULT '[]',
	settings   BLOB,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX apps_idp ON apps (idp);

CREATE TABLE app_keys (
	app        TEXT NOT NULL REFERENCES apps (name) ON DELETE CASCADE,
	serial     TEXT NOT NULL,
	cert_pem   TEXT NOT NULL,
	key_sealed BLOB,
	not_before INTEGER NOT NULL,
	not_after  INTEGER NOT NULL,
	active     INTEGER NOT NULL,
	retired    INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	position   INTEGER NOT NULL,
	PRIMARY KEY (app, serial)
);

-- Single-use identifiers (assertion replay cache and the like).
CREATE TABLE used_ids (
	namespace TEXT NOT NULL,
	id        TEXT NOT NULL,
	expires   INTEGER NOT NULL,
	PRIMARY KEY (namespace, id)
);
CREATE INDEX used_ids_expires ON used_ids (expires);

-- Single-use tickets: request state, pending logins, handoff codes.
CREATE TABLE tickets (
	kind    TEXT NOT NULL,
	id      TEXT NOT NULL,
	data    BLOB,
	expires INTEGER NOT NULL,
	PRIMARY KEY (kind, id)
);
CREATE INDEX tickets_expires ON tickets (expires);

CREATE TABLE sessions (
	id         TEXT PRIMARY KEY,
	app        TEXT NOT NULL,
	username   TEXT NOT NULL,
	device     TEXT NOT NULL DEFAULT '',
	ip         TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT '',
	data       BLOB,
	created_at INTEGER NOT NULL,
	last_seen  INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_app ON sessions (app);
CREATE INDEX sessions_user ON sessions (username);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Events: append-only. IDs are assigned by the store, strictly increasing.
CREATE TABLE events (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	time       INTEGER NOT NULL,
	kind       TEXT NOT NULL,
	app        TEXT NOT NULL DEFAULT '',
	username   TEXT NOT NULL DEFAULT '',
	source_ip  TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT '',
	device     TEXT NOT NULL DEFAULT '',
	action     TEXT NOT NULL DEFAULT '',
	decision   TEXT NOT NULL DEFAULT '',
	policies   TEXT NOT NULL DEFAULT '',
	reason     TEXT NOT NULL DEFAULT '',
	session_id TEXT NOT NULL DEFAULT '',
	object     TEXT NOT NULL DEFAULT '',
	bytes      INTEGER NOT NULL DEFAULT 0,
	details    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_user ON events (username, id);
CREATE INDEX events_app ON events (app, id);
CREATE INDEX events_kind ON events (kind, id);
CREATE INDEX events_decision ON events (decision, id);
CREATE INDEX events_time ON events (time);
