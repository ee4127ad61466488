/*
 * control_fuzz.c: libFuzzer target for ctl_request_parse, the parser of a
 * control socket request line (docs/control.md): bytes from any local
 * process that can open the socket. Besides "never crash": what parses
 * is a JSON object whose "cmd" names the table row returned, and the
 * object dumped back to a line parses again to the same row (so what a
 * client library writes from it is understood alike).
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
	char err[256], *line;
	const char *name;

	if (size > CTL_REQUEST_MAX)
		return 0;		/* the reader refuses longer lines */
	err[0] = '\0';
	if (ctl_request_parse((const char *)data, size, &req, &cmd, err,
	    sizeof err) != 0) {
		if (req != NULL || cmd != NULL || err[0] == '\0')
			abort();	/* a refusal says why, holds nothing */
		return 0;
	}
	name = json_string_value(json_object_get(req, "cmd"));
	if (!json_is_object(req) || cmd == NULL || name == NULL ||
	    strcmp(name, cmd->name) != 0)
		abort();
	if ((line = json_dumps(req, JSON_COMPACT)) != NULL) {
		if (ctl_request_parse(line, strlen(line), &req2, &again, err,
		    sizeof err) != 0 || again != cmd)
			abort();
		json_decref(req2);
		free(line);
	}
	json_decref(req);
	return 0;
}
