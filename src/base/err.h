/*
 * err.h: parley's one error enum. A fallible function returns int: 0, or one
 * of these negative codes; results come back through out-parameters.
 * err_str() names each code. Add codes at the end; never renumber (the
 * control protocol carries them).
 */
#ifndef PARLEY_BASE_ERR_H
#define PARLEY_BASE_ERR_H

#define WUR __attribute__((warn_unused_result))

enum err {
	ERR_OK = 0,
	ERR_NOMEM = -1,		/* allocation failed */
	ERR_IO = -2,		/* a system call failed; see errno */
	ERR_INVALID = -3,	/* an argument or field has a bad value */
	ERR_PARSE = -4,		/* bytes are not well-formed */
	ERR_NONCANONICAL = -5,	/* well-formed but not the one canonical encoding */
	ERR_TOO_BIG = -6,	/* input exceeds a documented maximum */
	ERR_CRYPTO = -7,	/* decryption failed, low-order point, bad key */
	ERR_SIGNATURE = -8,	/* a signature does not verify */
	ERR_PERMS = -9,		/* a key file is readable by others */
	ERR_EXISTS = -10,	/* already exists */
	ERR_NOT_FOUND = -11,	/* no such thing */
	ERR_EXPIRED = -12,	/* past its validity period */
	ERR_NOT_YET_VALID = -13,/* before its validity period */
	ERR_UNSIGNED = -14,	/* a required signature is missing */
	ERR_FOREIGN = -15,	/* belongs to other parties than this node */
	ERR_STATE = -16,	/* not allowed in the current state */
	ERR_VERSION = -17,	/* unsupported format or protocol version */
	ERR_REPLAY = -18,	/* not newer than what was already accepted */
	ERR_MAC = -19,		/* a MAC does not match */
	ERR_CLOSED = -20,	/* the connection or session is closed */
	ERR_AGAIN = -21,	/* not enough input yet; call again with more */
	ERR_FULL = -22,		/* a cap was reached or the disk is full */
	ERR_DENIED = -23,	/* the operator lacks the role */
	ERR_USAGE = -24,	/* bad command-line usage */
	ERR_SHORT = -25,	/* an output buffer is too small */
	ERR_GAP = -26,		/* a sequence number skips ahead */
	ERR_CHAIN = -27,	/* a hash link (prev, head id) does not match */
	ERR_BODY = -28,		/* a body does not match its header's length or hash */
	ERR_KIND = -29,		/* an unknown message kind */
	ERR_DOUBT = -30,	/* sent, then not stored: outcome unknown */
	ERR_SALT = -31,		/* a body's salt missing (header v2) or not expected (v1) */
};

/* A short lower-case phrase naming code; never NULL. */
const char *err_str(int code);

#endif
