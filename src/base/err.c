/* err.c: names for the codes of err.h. */
#include "base/err.h"

const char *
err_str(int code)
{
	switch (code) {
	case ERR_OK: return "ok";
	case ERR_NOMEM: return "out of memory";
	case ERR_IO: return "input/output error";
	case ERR_INVALID: return "invalid value";
	case ERR_PARSE: return "malformed data";
	case ERR_NONCANONICAL: return "non-canonical encoding";
	case ERR_TOO_BIG: return "too big";
	case ERR_CRYPTO: return "cryptographic failure";
	case ERR_SIGNATURE: return "bad signature";
	case ERR_PERMS: return "unsafe file permissions";
	case ERR_EXISTS: return "already exists";
	case ERR_NOT_FOUND: return "not found";
	case ERR_EXPIRED: return "expired";
	case ERR_NOT_YET_VALID: return "not yet valid";
	case ERR_UNSIGNED: return "missing signature";
	case ERR_FOREIGN: return "not for this node";
	case ERR_STATE: return "wrong state";
	case ERR_VERSION: return "unsupported version";
	case ERR_REPLAY: return "replayed";
	case ERR_MAC: return "bad MAC";
	case ERR_CLOSED: return "closed";
	case ERR_AGAIN: return "need more input";
	case ERR_FULL: return "full";
	case ERR_DENIED: return "permission denied";
	case ERR_USAGE: return "usage error";
	case ERR_SHORT: return "buffer too small";
	case ERR_GAP: return "sequence gap";
	case ERR_CHAIN: return "broken hash chain";
	case ERR_BODY: return "body does not match its header";
	case ERR_KIND: return "unknown message kind";
	case ERR_DOUBT: return "sent, then not stored: outcome unknown";
	case ERR_SALT: return "body salt missing or not expected";
	default: return "unknown error";
	}
}
