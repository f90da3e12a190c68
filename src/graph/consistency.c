/* consistency.c: reads after this client's own writes. Microsoft Entra is eventually consistent ("Designing for
 * eventual consistency"; "This request might have replication delays"): an object created or changed a moment ago
 * may not show in the next read yet. The client remembers what it wrote for a minute, and a read of the same thing
 * that does not show it yet is repeated with a bounded wait instead of being taken for a conflict or an absence. */
#include "graph/graph_int.h"

#include <stdlib.h>
#include <string.h>

#include "groupbridge/log.h"
#include "groupbridge/util.h"

#define REMEMBER_MS 60000
#define WRITES_MAX 256

static void write_free(gb_graph__write *w)
{
	free(w->kind);
	free(w->key);
	free(w->value);
	memset(w, 0, sizeof(*w));
}

void gb_graph__writes_free(gb_graph *g)
{
	size_t i;

	for (i = 0; i < g->nwrites; i++)
		write_free(&g->writes[i]);
	free(g->writes);
	g->writes = NULL;
	g->nwrites = 0;
}

static gb_graph__write *find(gb_graph *g, const char *kind, const char *key)
{
	int64_t now = gb_graph__now(g);
	size_t i;

	for (i = 0; i < g->nwrites; i++) {
		gb_graph__write *w = &g->writes[i];

		if (w->until > now && strcmp(w->kind, kind) == 0 && gb_str_iequal(w->key, key))
			return w;
	}
	return NULL;
}

int gb_graph__wrote(gb_graph *g, const char *kind, const char *key, const char *value, gb_error *err)
{
	gb_graph__write *w = find(g, kind, key), fresh;
	int64_t now = gb_graph__now(g);
	size_t i, k = 0;

	memset(&fresh, 0, sizeof(fresh));
	fresh.kind = gb_strdup(kind);
	fresh.key = gb_strdup(key);
	fresh.value = value ? gb_strdup(value) : NULL;
	fresh.until = now + REMEMBER_MS;
	if (!fresh.kind || !fresh.key || (value && !fresh.value)) {
		write_free(&fresh);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	if (w) {
		write_free(w);
		*w = fresh;
		return 0;
	}
	/* forget what is old, then make room */
	for (i = 0; i < g->nwrites; i++) {
		if (g->writes[i].until > now)
			g->writes[k++] = g->writes[i];
		else
			write_free(&g->writes[i]);
	}
	g->nwrites = k;
	if (g->nwrites == WRITES_MAX) {
		write_free(&g->writes[0]);
		memmove(g->writes, g->writes + 1, (g->nwrites - 1) * sizeof(*g->writes));
		g->nwrites--;
	}
	if (!g->writes) {
		g->writes = calloc(WRITES_MAX, sizeof(*g->writes));
		if (!g->writes) {
			write_free(&fresh);
			return gb_error_set(err, GB_ENOMEM, "out of memory");
		}
	}
	g->writes[g->nwrites++] = fresh;
	return 0;
}

bool gb_graph__written(gb_graph *g, const char *kind, const char *key, const char **value)
{
	gb_graph__write *w = find(g, kind, key);

	if (w && value)
		*value = w->value;
	return w != NULL;
}

int gb_graph__settle(gb_graph *g, const char *what, int (*read)(gb_graph *g, void *ud, gb_error *err),
		     bool (*seen)(void *ud), void *ud, gb_error *err)
{
	int64_t waited = 0, ms = 500;
	int rc;

	for (;;) {
		rc = read(g, ud, err);
		if (rc || seen(ud))
			return rc;
		if (waited + ms > GB_GRAPH__SETTLE_MS) {
			gb_warn("graph", "%s: Graph still does not show this client's write after %lld s", what,
				(long long)(waited / 1000));
			return 0;
		}
		gb_debug("graph", "%s: Graph does not show this client's write yet; reading again in %lld ms", what,
			 (long long)ms);
		g->stats.settle_reads++;
		gb_graph__sleep(g, ms);
		waited += ms;
		ms *= 2;
	}
}

/* ---- creating without duplicates ---- */

#define CREATE_TRIES 3

typedef struct probe {
	gb_graph__lookup_fn fn;
	void *ud;
	bool there;
} probe;

static int probe_read(gb_graph *g, void *ud, gb_error *err)
{
	probe *p = ud;

	return p->fn(g, p->ud, &p->there, err);
}

static bool probe_seen(void *ud)
{
	return ((probe *)ud)->there;
}

int gb_graph__create(gb_graph *g, const char *url, const json_t *body, json_t **out, gb_graph__lookup_fn lookup,
		     void *ud, bool *found, gb_error *err)
{
	probe p = {lookup, ud, false};
	unsigned tries;
	int rc = 0;

	*found = false;
	for (tries = 0; tries < CREATE_TRIES; tries++) {
		bool unsure = false;

		rc = gb_graph__call(g, "POST", url, body, out, &unsure, err);
		if (!rc || !unsure)
			return rc;
		gb_warn("graph", "%s; looking the object up before sending the POST again", err ? err->msg : "POST failed");
		/* a created object may take a moment to show: wait for it before deciding it is not there */
		rc = gb_graph__settle(g, url, probe_read, probe_seen, &p, err);
		if (rc || p.there) {
			*found = p.there;
			return rc;
		}
	}
	return gb_error_set(err, GB_ENET, "POST %s: no reply after %d attempts, and the object is not there",
			    gb_graph__path(g, url), CREATE_TRIES);
}
