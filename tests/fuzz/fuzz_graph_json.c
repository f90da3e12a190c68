/* libFuzzer target for the Graph JSON readers: any bytes are parsed as a reply body (gb_graph_parse_json) and, when
 * they parse, fed as a page to every pure reader: each element of "value" (or the body itself) to the group, user
 * and member readers; the page to both delta parsers; the body to the $batch reply parser (against a fixed set of
 * parts) and to the error describer with several statuses. Invariants checked (a broken one aborts): a delta page
 * that parses yields exactly one of nextLink / deltaLink; the describer always writes a NUL-terminated string within
 * its buffer; a batch part the parser marks with a status >= 400 carries an error message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "groupbridge/error.h"
#include "groupbridge/graph.h"
#include "groupbridge/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define EXT "extension_0a1b2c3d4e5f60718293a4b5c6d7e8f9_GroupDN"

static int on_group_delta(const gb_graph_group_delta *d, void *ud, gb_error *err)
{
	size_t i;

	(void)err;
	if (!d)
		return 0;
	/* touch every string the record carries so that ASan sees a bad pointer */
	*(size_t *)ud += d->group.id ? strlen(d->group.id) : 0;
	for (i = 0; i < d->nadded; i++)
		*(size_t *)ud += d->added[i].id ? strlen(d->added[i].id) : 0;
	for (i = 0; i < d->nremoved; i++)
		*(size_t *)ud += d->removed[i].id ? strlen(d->removed[i].id) : 0;
	return 0;
}

static int on_user_delta(const gb_cloud_user *u, void *ud, gb_error *err)
{
	(void)err;
	if (u && u->id)
		*(size_t *)ud += strlen(u->id);
	return 0;
}

static void one_object(const json_t *o)
{
	gb_cloud_group g;
	gb_cloud_user u;
	gb_member_ref m;
	gb_error err;

	memset(&g, 0, sizeof g);
	memset(&u, 0, sizeof u);
	memset(&m, 0, sizeof m);
	gb_error_clear(&err);
	if (gb_graph_group_from_json(o, EXT, &g, &err) == 0 && g.group_dn_ext && strlen(g.group_dn_ext) > 1u << 30)
		abort();
	gb_cloud_group_clear(&g);
	if (gb_graph_group_from_json(o, NULL, &g, &err) == 0 && g.group_dn_ext)
		abort(); /* no extension configured: none is read */
	gb_cloud_group_clear(&g);
	gb_graph_user_from_json(o, &u, &err);
	gb_cloud_user_clear(&u);
	if (gb_graph_member_from_json(o, &m, &err) == 0 && !m.id)
		abort(); /* a member reference always has an id */
	free(m.id);
}

static void delta_pages(const json_t *page)
{
	char *next = NULL, *delta = NULL;
	size_t sum = 0;
	gb_error err;

	gb_error_clear(&err);
	if (gb_graph_delta_parse_groups(page, EXT, on_group_delta, &sum, &next, &delta, &err) == 0 &&
	    (next == NULL) == (delta == NULL))
		abort();
	free(next);
	free(delta);
	next = delta = NULL;
	if (gb_graph_delta_parse_users(page, on_user_delta, &sum, &next, &delta, &err) == 0 &&
	    (next == NULL) == (delta == NULL))
		abort();
	free(next);
	free(delta);
}

static void batch_reply(const char *body, size_t len)
{
	gb_graph_batch_item items[3];
	long retry_after = 0;
	size_t i;
	gb_error err;

	memset(items, 0, sizeof items);
	items[0].method = "GET";
	items[0].url = "/groups/a";
	items[1].method = "POST";
	items[1].url = "/groups/b/members/$ref";
	items[1].body = "{}";
	items[2].method = "PATCH";
	items[2].url = "/groups/c";
	items[2].body = "{}";
	gb_error_clear(&err);
	if (gb_graph_batch_parse(body, len, items, 3, &retry_after, &err) == 0)
		for (i = 0; i < 3; i++)
			if (items[i].status >= 400 && items[i].error[0] == '\0')
				abort();
	for (i = 0; i < 3; i++)
		if (memchr(items[i].error, '\0', sizeof items[i].error) == NULL)
			abort();
	gb_graph_batch_clear(items, 3);
}

static void describe(const char *body, size_t len)
{
	static const long statuses[] = {400, 401, 403, 404, 429, 500, 503, 504, 0};
	char dst[300];
	char tiny[4];
	size_t i;

	for (i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
		memset(dst, 'x', sizeof dst);
		gb_graph_describe_error(statuses[i], body, len, dst, sizeof dst);
		if (memchr(dst, '\0', sizeof dst) == NULL)
			abort();
	}
	memset(tiny, 'x', sizeof tiny);
	gb_graph_describe_error(429, body, len, tiny, sizeof tiny);
	if (memchr(tiny, '\0', sizeof tiny) == NULL)
		abort();
	gb_graph_delta_is_expired(410, body, len);
	gb_graph_delta_is_expired(400, body, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	json_t *root = NULL, *value, *item;
	size_t i;
	gb_error err;

	/* the describer and batch parser take (body, len) without a NUL: keep it that way to catch over-reads */
	describe(body, size);
	batch_reply(body, size);
	gb_error_clear(&err);
	if (gb_graph_parse_json("GET /fuzz", body, size, &root, &err) != 0)
		return 0;
	one_object(root);
	value = json_object_get(root, "value");
	if (json_is_array(value))
		json_array_foreach(value, i, item) one_object(item);
	delta_pages(root);
	json_decref(root);
	return 0;
}
