/*
 * state.c: HOME/link.state, the handshake timestamps that must survive a
 * restart (docs/link.md, "State file"): per channel and path, the last
 * timestamp this node sent and the last it accepted from the peer. JSON,
 * mode 0600, replaced atomically (file_write) before the timestamp is
 * used: a restarted node never sends an older initiation, and never
 * accepts a replay of one it accepted before.
 */
#include "link/link_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/file.h"
#include "base/hex.h"

#define STATE_MAX (1024 * 1024)	/* 512 paths take about 70 KiB */

static void
state_path(const struct link *l, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", l->home, LINK_STATE_FILE);
}

static int
load_entry(struct link *l, json_t *e)
{
	uint8_t id[LINK_ID_LEN], sent[LINK_TS_LEN], acc[LINK_TS_LEN];
	const char *ids, *ss, *as;
	struct link_channel *ch;
	json_int_t path;

	if (json_unpack(e, "{s:s, s:I, s:s, s:s}", "channel", &ids, "path",
	    &path, "sent", &ss, "accepted", &as) != 0)
		return ERR_PARSE;
	if (hex_decode(id, sizeof id, ids) != 0 ||
	    hex_decode(sent, sizeof sent, ss) != 0 ||
	    hex_decode(acc, sizeof acc, as) != 0 || path < 0 ||
	    path >= LINK_MAX_PATHS)
		return ERR_PARSE;
	if ((ch = link_find_channel(l, id)) == NULL ||
	    (unsigned)path >= ch->ag.npaths)
		return 0;	/* a channel no longer installed */
	memcpy(ch->paths[path].ts_sent, sent, LINK_TS_LEN);
	memcpy(ch->paths[path].ts_accepted, acc, LINK_TS_LEN);
	return 0;
}

int
link_state_load(struct link *l)
{
	char path[1100];
	uint8_t *buf = NULL;
	size_t len, i;
	json_t *root = NULL, *v, *e;
	json_error_t jerr;
	int r;

	state_path(l, path, sizeof path);
	r = file_read(path, STATE_MAX, &buf, &len);
	if (r == ERR_NOT_FOUND)
		return 0;
	if (r != 0)
		return r;
	r = ERR_PARSE;
	if ((root = json_loadb((const char *)buf, len, 0, &jerr)) == NULL)
		goto out;
	v = json_object_get(root, "version");
	if (!json_is_integer(v) || json_integer_value(v) != LINK_STATE_VERSION) {
		r = ERR_VERSION;
		goto out;
	}
	if (!json_is_array(v = json_object_get(root, "paths")))
		goto out;
	json_array_foreach(v, i, e)
		if ((r = load_entry(l, e)) != 0)
			goto out;
	r = 0;
out:
	json_decref(root);
	free(buf);
	return r;
}

static int
add_entry(json_t *arr, const struct link_path *p)
{
	char id[2 * LINK_ID_LEN + 1], s[2 * LINK_TS_LEN + 1];
	char a[2 * LINK_TS_LEN + 1];

	hex_encode(id, p->ch->ag.id, LINK_ID_LEN);
	hex_encode(s, p->ts_sent, LINK_TS_LEN);
	hex_encode(a, p->ts_accepted, LINK_TS_LEN);
	return json_array_append_new(arr, json_pack("{s:s, s:I, s:s, s:s}",
	    "channel", id, "path", (json_int_t)p->index, "sent", s,
	    "accepted", a)) == 0 ? 0 : ERR_NOMEM;
}

int
link_state_save(struct link *l)
{
	char path[1100], *text = NULL;
	json_t *root, *arr;
	int r = ERR_NOMEM;

	if ((root = json_object()) == NULL)
		return ERR_NOMEM;
	if ((arr = json_array()) == NULL ||
	    json_object_set_new(root, "version",
	    json_integer(LINK_STATE_VERSION)) != 0 ||
	    json_object_set_new(root, "paths", arr) != 0)
		goto out;
	for (size_t i = 0; i < l->nch; i++)
		for (unsigned j = 0; j < l->ch[i].ag.npaths; j++)
			if ((r = add_entry(arr, &l->ch[i].paths[j])) != 0)
				goto out;
	r = ERR_NOMEM;
	if ((text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS)) == NULL)
		goto out;
	state_path(l, path, sizeof path);
	r = file_write(path, (const uint8_t *)text, strlen(text), 0600, 1);
out:
	free(text);
	json_decref(root);
	return r;
}
