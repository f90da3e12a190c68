/* ahead.c: searches sent ahead, as a bounded queue taken oldest first (directory.h, gb_dir_ahead_*). */
#include <stdlib.h>
#include <string.h>

#include "groupbridge/directory.h"

struct gb_dir_ahead {
	gb_directory *dir;
	const char *const *attrs;
	gb_dir_entry_cb on_entry;
	gb_dir_ahead_done_cb done;
	void *ctx;
	size_t max, n;
	struct sent {
		gb_dir_pending *p;
		void *tag;
	} *sent; /* oldest first */
};

int gb_dir_ahead_new(gb_directory *d, size_t max, const char *const *attrs, gb_dir_entry_cb on_entry,
		     gb_dir_ahead_done_cb done, void *ctx, gb_dir_ahead **out, gb_error *err)
{
	gb_dir_ahead *q = calloc(1, sizeof(*q));

	*out = NULL;
	if (!q || !(q->sent = calloc(max ? max : 1, sizeof(*q->sent)))) {
		free(q);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	q->dir = d;
	q->max = max ? max : 1;
	q->attrs = attrs;
	q->on_entry = on_entry;
	q->done = done;
	q->ctx = ctx;
	*out = q;
	return 0;
}

/* The oldest search taken (waiting for its answer): its entries to on_entry, then its tag to done. */
static int take_oldest(gb_dir_ahead *q, gb_error *err)
{
	struct sent s = q->sent[0];
	gb_error e;
	int rc;

	memmove(q->sent, q->sent + 1, --q->n * sizeof(*q->sent));
	gb_error_clear(&e);
	rc = gb_directory_search_take(s.p, q->on_entry, q->ctx, &e);
	q->done(s.tag, rc, &e, q->ctx);
	if (rc == GB_ENOMEM) {
		*err = e;
		return rc;
	}
	return 0;
}

void gb_dir_ahead_poll(gb_dir_ahead *q)
{
	for (size_t i = 0; q && i < q->n; i++)
		(void)gb_directory_search_poll(q->sent[i].p);
}

int gb_dir_ahead_send(gb_dir_ahead *q, const char *filter, void *tag, bool wait, gb_error *err)
{
	gb_error e;
	int rc;

	gb_dir_ahead_poll(q);
	if (q->n == q->max) {
		if (!wait && !gb_directory_search_poll(q->sent[0].p)) {
			gb_error_set(&e, GB_ERETRY, "%zu searches already in flight", q->n);
			q->done(tag, e.code, &e, q->ctx);
			return 0;
		}
		if ((rc = take_oldest(q, err)))
			return rc;
	}
	gb_error_clear(&e);
	if ((rc = gb_directory_search_send(q->dir, filter, q->attrs, &q->sent[q->n].p, &e))) {
		q->done(tag, rc, &e, q->ctx);
		if (rc == GB_ENOMEM) {
			*err = e;
			return rc;
		}
		return 0;
	}
	q->sent[q->n++].tag = tag;
	return 0;
}

int gb_dir_ahead_take_all(gb_dir_ahead *q, gb_error *err)
{
	int rc = 0;

	while (!rc && q && q->n)
		rc = take_oldest(q, err);
	return rc;
}

void gb_dir_ahead_free(gb_dir_ahead *q)
{
	gb_error e;

	if (!q)
		return;
	gb_error_set(&e, GB_ERETRY, "given up before its answer was taken");
	for (size_t i = 0; i < q->n; i++) {
		gb_dir_pending_free(q->sent[i].p);
		q->done(q->sent[i].tag, e.code, &e, q->ctx);
	}
	free(q->sent);
	free(q);
}
