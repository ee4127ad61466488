/*
 * schema.c: the store's schema, as the migrations that build it. The SQL
 * lives only here and is quoted verbatim in docs/store.md (test_store
 * checks that they agree).
 */
#include "store/schema.h"

#include "store/store.h"

/* migrations[v] takes a file from user_version v to v + 1. Never edit one
 * that has shipped: add the next. */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE message (\n"
	"\tqid INTEGER PRIMARY KEY,\n"
	"\tchannel BLOB NOT NULL CHECK (length(channel) = 32),\n"
	"\tsender INTEGER NOT NULL CHECK (sender IN (0, 1)),\n"
	"\tdir INTEGER NOT NULL CHECK (dir IN (1, 2)),\n"
	"\tseq INTEGER CHECK (seq >= 1),\n"
	"\tid BLOB UNIQUE CHECK (length(id) = 32),\n"
	"\theader BLOB,\n"
	"\tprecedence INTEGER NOT NULL CHECK (precedence BETWEEN 0 AND 3),\n"
	"\tmarking INTEGER NOT NULL CHECK (marking BETWEEN 0 AND 2),\n"
	"\tkind INTEGER NOT NULL CHECK (kind >= 1),\n"
	"\tbody BLOB NOT NULL,\n"
	"\tstate INTEGER NOT NULL CHECK (state BETWEEN 0 AND 3),\n"
	"\ttime_ms INTEGER NOT NULL,\n"
	"\tstored_ms INTEGER NOT NULL,\n"
	"\tassigned_ms INTEGER,\n"
	"\treceipted_ms INTEGER,\n"
	"\tUNIQUE (channel, sender, seq),\n"
	"\tCHECK ((seq IS NULL) = (state = 0)),\n"
	"\tCHECK ((seq IS NULL) = (id IS NULL)),\n"
	"\tCHECK ((seq IS NULL) = (header IS NULL)),\n"
	"\tCHECK ((dir = 1) = (state <= 2))\n"
	") STRICT;\n"
	"CREATE INDEX message_queue ON message (channel, sender, precedence,"
	" qid)\n"
	"\tWHERE state = 0;\n"
	"CREATE INDEX message_dir ON message (dir, qid);\n"
	"CREATE TABLE head (\n"
	"\tchannel BLOB NOT NULL,\n"
	"\tsender INTEGER NOT NULL,\n"
	"\tseq INTEGER NOT NULL,\n"
	"\tid BLOB NOT NULL REFERENCES message (id),\n"
	"\tsig BLOB NOT NULL CHECK (length(sig) = 64),\n"
	"\tstored_ms INTEGER NOT NULL,\n"
	"\tPRIMARY KEY (channel, sender, seq)\n"
	") STRICT, WITHOUT ROWID;\n"
	"CREATE TABLE receipt (\n"
	"\tchannel BLOB NOT NULL CHECK (length(channel) = 32),\n"
	"\treceiver INTEGER NOT NULL CHECK (receiver IN (0, 1)),\n"
	"\tseq INTEGER NOT NULL CHECK (seq >= 0),\n"
	"\tid BLOB NOT NULL CHECK (length(id) = 32),\n"
	"\ttime_ms INTEGER NOT NULL,\n"
	"\tsig BLOB NOT NULL CHECK (length(sig) = 64),\n"
	"\tstored_ms INTEGER NOT NULL,\n"
	"\tPRIMARY KEY (channel, receiver, seq)\n"
	") STRICT, WITHOUT ROWID;\n"
	"CREATE TRIGGER message_keep BEFORE DELETE ON message\n"
	"BEGIN SELECT RAISE(ABORT, 'messages are never deleted'); END;\n"
	"CREATE TRIGGER message_fixed BEFORE UPDATE OF qid, channel, sender,"
	" dir,\n"
	"\tprecedence, marking, kind, body, time_ms, stored_ms ON message\n"
	"BEGIN SELECT RAISE(ABORT, 'messages are never rewritten'); END;\n"
	"CREATE TRIGGER message_assign_once BEFORE UPDATE OF seq, id, header"
	" ON message\n"
	"\tWHEN OLD.seq IS NOT NULL\n"
	"BEGIN SELECT RAISE(ABORT, 'a place in the chain is fixed once');"
	" END;\n"
	"CREATE TRIGGER message_forward BEFORE UPDATE OF state ON message\n"
	"\tWHEN NEW.state < OLD.state\n"
	"BEGIN SELECT RAISE(ABORT, 'states only move forward'); END;\n"
	"CREATE TRIGGER head_keep BEFORE DELETE ON head\n"
	"BEGIN SELECT RAISE(ABORT, 'heads are never deleted'); END;\n"
	"CREATE TRIGGER head_fixed BEFORE UPDATE ON head\n"
	"BEGIN SELECT RAISE(ABORT, 'heads are never rewritten'); END;\n"
	"CREATE TRIGGER receipt_keep BEFORE DELETE ON receipt\n"
	"BEGIN SELECT RAISE(ABORT, 'receipts are never deleted'); END;\n"
	"CREATE TRIGGER receipt_fixed BEFORE UPDATE ON receipt\n"
	"BEGIN SELECT RAISE(ABORT, 'receipts are never rewritten'); END;\n",
};

_Static_assert(sizeof migrations / sizeof migrations[0] ==
    STORE_SCHEMA_VERSION, "one migration per schema version");

const char *
store_migration_sql(int from)
{
	if (from < 0 || from >= STORE_SCHEMA_VERSION)
		return NULL;
	return migrations[from];
}
