/*
 * control_fuzz.c: libFuzzer target for ctl_request_parse, the parser of a
 * control socket request line (docs/control.md): bytes from any local
 * process that can open the socket. Besides "never crash": what parses
 * is a JSON object whose "cmd" names the table row returned, and the
 * object dumped back to a line parses again to the same row and raw body
 * length (so what a client library writes from it is understood alike);
 * the raw body's length is always in 0..CTL_BODY_MAX, given only to a
 * command that takes one, and a refusal for a bad length says the stream
 * cannot be framed (CTL_BODY_BAD).
 *
 *   make fuzz (seeds: fuzz/corpus/control_fuzz/)
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct ctl_command *cmd, *again;
	json_t *req, *req2;
	int64_t body, body2;
	char err[256], *line;
	const char *name;

	if (size > CTL_REQUEST_MAX)
		return 0;		/* the reader refuses longer lines */
	err[0] = '\0';
	if (ctl_request_parse((const char *)data, size, &req, &cmd, &body,
	    err, sizeof err) != 0) {
		if (req != NULL || cmd != NULL || err[0] == '\0')
			abort();	/* a refusal says why, holds nothing */
		if (body != CTL_BODY_NONE && body != CTL_BODY_BAD &&
		    (body < 0 || body > CTL_BODY_MAX))
			abort();
		return 0;
	}
	if (body != CTL_BODY_NONE && (body < 0 || body > CTL_BODY_MAX ||
	    !cmd->body))
		abort();
	name = json_string_value(json_object_get(req, "cmd"));
	if (!json_is_object(req) || cmd == NULL || name == NULL ||
	    strcmp(name, cmd->name) != 0)
		abort();
	if ((line = json_dumps(req, JSON_COMPACT)) != NULL) {
		if (ctl_request_parse(line, strlen(line), &req2, &again,
		    &body2, err, sizeof err) != 0 || again != cmd ||
		    body2 != body)
			abort();
		json_decref(req2);
		free(line);
	}
	json_decref(req);
	return 0;
}
