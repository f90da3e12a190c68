/*
 * graph_int.h: the client's state and the internal interfaces between the layers of src/graph (private to the
 * module; unit tests include it to reach the pure helpers and the test transport).
 *
 * The layers, bottom up; each calls only the ones below it:
 *   client.c     the client object, its logical clock, sleeping and the wait budget
 *   transport.c  raw HTTP exchanges over libcurl's multi interface (no tokens, no retries)
 *   retry.c      the retry decision (pure), Retry-After, backoff
 *   auth.c       the token: client secret or certificate assertion, cache, renewal (sends through transport.c)
 *   request.c    requests: the Authorization header, 401 renewal, throttling, the window of requests in flight,
 *                pausing the whole client, paging (reply.c: URLs, error bodies, JSON: pure)
 *   consistency.c  reads after the client's own writes (Graph is eventually consistent)
 *   sched.c      batch parts: $batch packing, each part's status and Retry-After on its own
 *   read.c, many.c, delta.c, batch.c, resources.c, apps.c, approles.c: what Graph offers, on request.c and
 *                sched.c
 */
#ifndef GROUPBRIDGE_GRAPH_INT_H
#define GROUPBRIDGE_GRAPH_INT_H

#include <curl/curl.h>

#include "groupbridge/buf.h"
#include "groupbridge/graph.h"

typedef struct gb_graph__transport gb_graph__transport;
typedef struct gb_graph__req gb_graph__req;

/* One HTTP exchange (transport.c). The caller fills the request fields and owns them until the exchange is done;
 * the transport fills the reply. */
typedef struct gb_graph__xfer {
	const char *method;
	const char *url;                 /* absolute */
	const char *body;                /* may be NULL */
	struct curl_slist *headers;      /* every header to send */
	bool fresh;                      /* on a new connection: libcurl silently sends a request again when a reused
					  * connection dies before the reply, which must not happen to a POST */
	/* the reply */
	bool done;
	gb_graph_transport_result result;
	long status;
	gb_buf body_buf;
	char retry_after[80];
	char request_id[64];
	char throttle_pct[32];
	char *location;
	char error[CURL_ERROR_SIZE];     /* the transport's reason when result is not GB_GRAPH_XFER_OK */
	/* private to transport.c */
	CURL *easy;
	int too_big;
} gb_graph__xfer;

/* A test transport: when set, every exchange is answered synchronously by fn (which fills result, status,
 * body_buf and the header fields); nothing goes to the network. */
typedef void (*gb_graph__hook_fn)(void *ud, gb_graph__xfer *x);

/* A remembered write of this client (consistency.c). */
typedef struct gb_graph__write {
	char *kind;
	char *key;
	char *value;   /* NULL for "exists" or a null value */
	int64_t until; /* logical ms */
} gb_graph__write;

struct gb_graph {
	char *graph_url;      /* no trailing slash */
	char *authority_url;  /* no trailing slash */
	char *token_url;      /* authority_url/tenant/oauth2/v2.0/token */
	char *tenant_id;
	char *client_id;
	char *secret;         /* client secret, or NULL with a certificate */
	char *cert_file;
	char *key_file;
	gb_graph_jwt_alg alg;
	char *ca_file;
	char *ext_name;       /* directory extension read with groups, or NULL */
	long timeout;         /* seconds per request */
	long connect_timeout;
	int64_t max_wait_ms;  /* graph.max_throttle_wait */
	double time_scale;
	size_t max_body;
	unsigned max_concurrency;
	bool no_batch;            /* gb_graph_set_batching(g, false): independent reads go out one request each */
	gb_graph__transport *tp;
	gb_graph__hook_fn hook;
	void *hook_ud;
	/* auth.c */
	char *token;
	int64_t token_expires_ms; /* logical clock */
	int64_t token_lifetime_s;
	unsigned token_gen;       /* bumped with every new token */
	/* request.c: flow control */
	unsigned window;          /* requests in flight allowed ($batch parts counted one by one) */
	unsigned window_credit;   /* successful requests since the window last grew */
	bool slow_start;          /* no sign of throttling yet: the window grows by every success */
	unsigned long granted;    /* successful requests while slow_start (what the server has shown it allows) */
	unsigned in_flight;       /* cost of the requests in flight */
	int64_t pause_until;      /* logical ms: no request starts before */
	int64_t last_cut;         /* logical ms of the last time the window shrank */
	double throttle_pct;      /* last x-ms-throttle-limit-percentage, 0 when absent */
	gb_graph__req *queue, *queue_tail, *active, *finished, *finished_tail;
	/* client.c: the logical clock runs ahead of the monotonic clock by what time scaling saved */
	int64_t clock_offset;
	/* consistency.c */
	gb_graph__write *writes;
	size_t nwrites;
	gb_graph_stats stats;
};

/* ---- client.c ---- */

/* The logical clock in ms: the monotonic clock plus the time that gb_graph_set_time_scale saved. */
int64_t gb_graph__now(const gb_graph *g);
/* Sleeps ms of logical time (ms * time_scale of real time), driving the exchanges in flight meanwhile. */
void gb_graph__sleep(gb_graph *g, int64_t ms);
/* Charges ms to the run's wait budget; GB_ETHROTTLED (message names what) without charging when it would exceed
 * graph.max_throttle_wait. */
int gb_graph__charge(gb_graph *g, int64_t ms, const char *what, gb_error *err);
/* The GB_ETHROTTLED error of a wait of ms that the budget cannot pay ("...; run again later to resume"). */
int gb_graph__budget_error(const gb_graph *g, int64_t ms, const char *what, gb_error *err);
/* gb_graph__charge, then sleeps ms. */
int gb_graph__wait(gb_graph *g, int64_t ms, const char *what, gb_error *err);
/* Exponential backoff with jitter for the attempt-th retry (0-based), in ms. */
int64_t gb_graph__backoff_ms(unsigned attempt);
/* A random number for the backoff's jitter. */
uint32_t gb_graph__jitter(void);
/* The path of url for messages: url without the graph_url or authority_url prefix. */
const char *gb_graph__path(const gb_graph *g, const char *url);
/* True when name is extension_<32 hex>_<letters, digits, _> (safe in a $select). */
bool gb_graph__extension_ok(const char *name);
/* Makes url absolute ("/v1.0/..." gets graph_url in front) into b; GB_EINVAL for an absolute URL outside
 * graph_url and the token URL, so that a token never goes to another host. */
int gb_graph__absolute(const gb_graph *g, const char *method, const char *url, gb_buf *b, gb_error *err);

/* ---- transport.c ---- */

int gb_graph__transport_new(gb_graph *g, gb_error *err);
void gb_graph__transport_free(gb_graph *g);
/* Sets the connection limits from max_concurrency. */
void gb_graph__transport_limit(gb_graph *g);
/* Starts an exchange (x->done becomes true when it ends, whatever the outcome). GB_ENOMEM. */
int gb_graph__xfer_start(gb_graph *g, gb_graph__xfer *x, gb_error *err);
/* Drives the exchanges in flight until until is done (any one when until is NULL) or timeout_ms of real time
 * passed (-1: no limit). */
void gb_graph__transport_run(gb_graph *g, gb_graph__xfer *until, long timeout_ms);
/* Stops x if it is still in flight and frees what the transport allocated for it (not the caller's fields). */
void gb_graph__xfer_clear(gb_graph *g, gb_graph__xfer *x);
/* The number of exchanges in flight. */
size_t gb_graph__transport_active(const gb_graph *g);
/* Appends the headers every Graph and token request carries (client-request-id crid, Accept, no Expect) plus a
 * Content-Type when content_type is not NULL. NULL when out of memory (the list is freed). */
struct curl_slist *gb_graph__std_headers(struct curl_slist *h, const char *crid, const char *content_type);

/* ---- auth.c ---- */

/* Fetches a token now. */
int gb_graph__fetch_token(gb_graph *g, gb_error *err);

/* ---- request.c ---- */

/* A request handed to the engine. The caller sets the fields above the line (gb_graph__req_init), submits it, and
 * owns it; method, body and headers must live until it finishes. */
struct gb_graph__req {
	const char *method;
	const char *body;
	const char *content_type;       /* default application/json when body is set */
	const char *const *headers;     /* extra headers, NULL-terminated; may be NULL */
	bool replay_safe;               /* a transport failure may be retried although the method is a POST */
	unsigned cost;                  /* window units: 1, or the parts of a $batch */
	void *ud;
	/* ---- engine state and outcome ---- */
	char *url;                      /* absolute, owned */
	unsigned throttles, net_failures;
	bool renewed;
	unsigned token_gen;
	int64_t t0;
	char crid[40];
	gb_graph__xfer x;
	bool started, done;
	int rc;                         /* 0, or why no usable reply was had (err) */
	bool unsure;                    /* rc after a transport failure the server may have acted on */
	gb_error err;
	gb_graph_response *resp;        /* the final reply when rc is 0 */
	gb_graph__req *next;
};

void gb_graph__req_init(gb_graph__req *r, const char *method, const char *body);
/* Frees what the engine allocated (the reply, the URL); r can be initialised again. */
void gb_graph__req_clear(gb_graph *g, gb_graph__req *r);
/* Queues r for url (a "/v1.0/..." path or an absolute URL under graph_url). GB_EINVAL for another host. */
int gb_graph__submit(gb_graph *g, gb_graph__req *r, const char *url, gb_error *err);
/* Drives the engine until a request is done and returns it (NULL when nothing is queued or in flight). */
gb_graph__req *gb_graph__pump(gb_graph *g);
/* Window units a new request could use now (0 while the client is paused). */
unsigned gb_graph__capacity(const gb_graph *g);
/* When nothing is in flight: sleeps until the client's pause is over. */
void gb_graph__wait_pause(gb_graph *g);
/* Extends the client's pause by a throttling wait of ms (charged to the budget; what names the request). */
int gb_graph__pause(gb_graph *g, int64_t ms, const char *what, gb_error *err);
/* Adapts the window to a reply of a request started at started (logical ms): throttled (a 429) halves it, pct
 * (x-ms-throttle-limit-percentage, 0 when absent) of 0.9 or more takes a quarter off, at most once for the requests
 * that were in flight together; ok successful requests grow it by ok until the first sign of throttling (a 429 or a
 * pct of 0.8 or more), then by one per window's worth, never beyond max_concurrency. */
void gb_graph__adapt(gb_graph *g, int64_t started, bool throttled, double pct, unsigned ok);
/* The decision input for a reply of r (status and Retry-After from the reply or a $batch part). */
void gb_graph__decision_input(const gb_graph *g, const gb_graph__req *r, gb_graph_retry_input *in);
/* gb_graph_call with *unsure set when the request failed after a transport failure the server may have acted on
 * (a POST that was not replayed). */
int gb_graph__call(gb_graph *g, const char *method, const char *url, const json_t *body, json_t **out, bool *unsure,
		   gb_error *err);
/* Sets err from a non-2xx reply: code from the status, message naming method and path. Returns the code. */
int gb_graph__reply_error(gb_graph *g, const char *method, const char *url, const gb_graph_response *r,
			  gb_error *err);
/* x-ms-throttle-limit-percentage as a fraction (a value over 2 is taken as a percentage). */
double gb_graph__pct(const char *value);

/* ---- sched.c: batch parts ---- */

typedef struct gb_graph__sched gb_graph__sched;

/* One request sent on its own or as a part of a $batch. */
typedef struct gb_graph__part {
	const char *method;
	char *url;              /* relative to the version ("/groups/ID") or absolute under graph_url; owned */
	const char *body;       /* JSON text or NULL, borrowed */
	size_t tag;             /* the caller's */
	/* the outcome handed to the callback */
	int rc;                 /* 0: status and response are Graph's reply; else err says why there is none */
	gb_error err;
	long status;
	char *response;         /* the reply body as text, owned (the callback may take it and set it to NULL) */
	size_t response_len;
	char crid[40];          /* client-request-id of the request that carried the reply */
	bool first;             /* set by the caller: the first page of a listing (a page token cannot expire) */
	/* private */
	unsigned throttles;
	struct gb_graph__part *next;
} gb_graph__part;

/* Called for every part with its final outcome; may add parts. Non-zero stops the run (returned). */
typedef int (*gb_graph__part_fn)(gb_graph__sched *s, gb_graph__part *p, void *ud, gb_error *err);
/* Asked before a part is sent: false drops it unsent (the callback never sees it). May be NULL. */
typedef bool (*gb_graph__want_fn)(const gb_graph__part *p, void *ud);

/* How parts go out: GB_GRAPH__PACK puts parts queued together in a $batch and sends a part alone as a plain request;
 * GB_GRAPH__BATCH_ALWAYS sends every part in a $batch, even alone (gb_graph_batch); GB_GRAPH__ALONE sends every part
 * as a plain request of its own (requests Graph does not document inside a $batch, such as delta pages). A part
 * whose URL cannot go in a batch is always sent alone. */
typedef enum gb_graph__packing { GB_GRAPH__PACK, GB_GRAPH__BATCH_ALWAYS, GB_GRAPH__ALONE } gb_graph__packing;

/* *out is the caller's (gb_graph__sched_free). */
int gb_graph__sched_new(gb_graph *g, const char *version, gb_graph__packing packing, gb_graph__part_fn fn,
			gb_graph__want_fn want, void *ud, gb_graph__sched **out, gb_error *err);
void gb_graph__sched_free(gb_graph__sched *s);
/* Queues a part (at the front: before the parts queued already, so that a listing that started ends first). url is
 * copied. */
int gb_graph__sched_add(gb_graph__sched *s, const char *method, const char *url, const char *body, size_t tag,
			bool first, bool front, gb_error *err);
/* Sends every part and hands each outcome to fn, until nothing is left. */
int gb_graph__sched_run(gb_graph__sched *s, gb_error *err);
/* "GET /v1.0/groups/ID/..." for messages about p (the version put back in front of a relative URL). */
void gb_graph__part_what(const gb_graph__sched *s, const gb_graph__part *p, char *dst, size_t n);

/* batch.c: the parse of a $batch reply, with each part's own Retry-After (seconds, -1 when none) in
 * retry_after[0..n). */
int gb_graph__batch_parse(const char *body, size_t len, gb_graph_batch_item *items, size_t n, long *retry_after,
			  gb_error *err);

/* ---- read.c ---- */

/* "/v1.0/groups/<id>/members?$select=id&$top=<top>" and "/v1.0/groups/<id>?$select=<group properties>". */
int gb_graph__members_url(gb_buf *b, const char *group_id, int top, gb_error *err);
int gb_graph__group_url(const gb_graph *g, gb_buf *b, const char *id, gb_error *err);

/* ---- consistency.c ---- */

/* Remembers that this client wrote value (NULL: "it exists" or null) under kind/key; reads of the same kind/key in
 * the next minute wait for Graph to show it. */
int gb_graph__wrote(gb_graph *g, const char *kind, const char *key, const char *value, gb_error *err);
/* The remembered write of kind/key: true and *value (borrowed) when there is one. */
bool gb_graph__written(gb_graph *g, const char *kind, const char *key, const char **value);
/* Reads until seen() says the read shows the remembered write, at most GB_GRAPH__SETTLE_MS of logical time
 * (backoff 0.5 s, 1 s, 2 s ...): read() returns 0 or an error (returned at once); seen() looks at what read()
 * left in ud. */
#define GB_GRAPH__SETTLE_MS 30000
int gb_graph__settle(gb_graph *g, const char *what, int (*read)(gb_graph *g, void *ud, gb_error *err),
		     bool (*seen)(void *ud), void *ud, gb_error *err);
void gb_graph__writes_free(gb_graph *g);
/* Looks for the object a POST may have created: *there says whether it is there. */
typedef int (*gb_graph__lookup_fn)(gb_graph *g, void *ud, bool *there, gb_error *err);
/* POSTs body to url (gb_graph_call). These POSTs have no idempotency key, so after a transport failure that may have
 * reached Graph the object is looked up first (waiting up to GB_GRAPH__SETTLE_MS for Graph to show it): there, it is
 * the result (*found true, *out NULL); not there, the POST is sent again (three times at most). */
int gb_graph__create(gb_graph *g, const char *url, const json_t *body, json_t **out, gb_graph__lookup_fn lookup,
		     void *ud, bool *found, gb_error *err);

/* ---- helpers shared by the resource files ---- */

/* JSON accessors: NULL when absent or of another type. */
const char *gb_graph__str(const json_t *o, const char *key);
/* *dst = a copy of o's string key, or NULL when absent; -1 when out of memory (the caller names the object). */
int gb_graph__dupstr(char **dst, const json_t *o, const char *key);
/* GB_EINVAL naming what when id is NULL or empty, else 0. */
int gb_graph__require_id(const char *what, const char *id, gb_error *err);
/* A user record of a listing or a delta page, parsed and handed to cb->fn (ud is a gb_graph__user_cb): the error
 * of either is returned. */
typedef struct gb_graph__user_cb {
	gb_graph_user_fn fn;
	void *ud;
} gb_graph__user_cb;
int gb_graph__on_user(const json_t *item, void *ud, gb_error *err);

#endif
