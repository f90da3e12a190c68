/*
 * graph_batch.h: JSON batching: many requests in one POST /<version>/$batch, 20 at most, each with its own status.
 */
#ifndef GROUPBRIDGE_GRAPH_BATCH_H
#define GROUPBRIDGE_GRAPH_BATCH_H

#include "groupbridge/graph_client.h"

#define GB_GRAPH_BATCH_MAX 20

/* One request of a batch. The caller fills method, url (relative to the version: "/groups/ID") and body (JSON text
 * or NULL); gb_graph_batch fills status (0 when no reply was had), response (the part's body as JSON text, or
 * NULL; the caller frees it with gb_graph_batch_clear) and, for failures, error (a message naming the part). */
typedef struct gb_graph_batch_item {
	const char *method;
	const char *url;
	const char *body;
	long status;
	char *response;
	char error[512];
} gb_graph_batch_item;

/* Sends items through POST /<version>/$batch ("v1.0" or "beta"), 20 at a time, several batches in flight within the
 * client's window. Each part's status is its own: a 404 part does not fail the others. Parts answered 429, 503 or
 * 504 are decided by gb_graph_retry_decide with their own Retry-After and sent again in a later batch, under the
 * same wait budget as whole requests. Returns 0 when every part has a final status (look at each), GB_ETHROTTLED
 * when throttled parts were still pending at the budget (they keep status 429), or the error of a batch request
 * that failed as a whole (its parts keep status 0). */
int gb_graph_batch(gb_graph *g, const char *version, gb_graph_batch_item *items, size_t n, gb_error *err);

/* Frees the responses of items (the caller's own fields are untouched). */
void gb_graph_batch_clear(gb_graph_batch_item *items, size_t n);

/* Pure helpers: the JSON body for items[idx[0..count)] with ids equal to their index in items, and the parse of a
 * $batch reply that sets status/response/error of the parts it names. *retry_after gets the longest Retry-After of
 * the throttled parts in seconds (-1 when none gave one). GB_EPARSE for a malformed reply or an unknown id. *out is
 * the caller's (free). */
int gb_graph_batch_build(const gb_graph_batch_item *items, const size_t *idx, size_t count, char **out,
			 gb_error *err);
int gb_graph_batch_parse(const char *body, size_t len, gb_graph_batch_item *items, size_t n, long *retry_after,
			 gb_error *err);

#endif
