/* graph_int.h: the client's state, shared by the files of src/graph (private to the module). */
#ifndef GROUPBRIDGE_GRAPH_INT_H
#define GROUPBRIDGE_GRAPH_INT_H

#include <curl/curl.h>

#include "groupbridge/graph.h"

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
	CURL *curl;
	char *token;
	int64_t token_expires_ms; /* monotonic */
	int64_t token_lifetime_s;
	double throttle_pct;  /* last x-ms-throttle-limit-percentage, 0 when absent */
	gb_graph_stats stats;
};

/* Waits ms (logical) under the run's budget; GB_ETHROTTLED (message names what) when it would exceed it. */
int gb_graph__wait(gb_graph *g, int64_t ms, const char *what, gb_error *err);
/* Exponential backoff with jitter for the attempt-th retry (0-based), in ms. */
int64_t gb_graph__backoff_ms(unsigned attempt);
/* The path of url for messages: url without the graph_url or authority_url prefix. */
const char *gb_graph__path(const gb_graph *g, const char *url);
/* Fetches a token now (auth.c). */
int gb_graph__fetch_token(gb_graph *g, gb_error *err);
/* Sends a request without the Authorization header (used for the token endpoint); otherwise as gb_graph_request. */
int gb_graph__send(gb_graph *g, const char *method, const char *url, const char *body, const char *content_type,
		   const char *const *headers, int use_auth, gb_graph_response **out, gb_error *err);
/* Sets err from a non-2xx reply: code from the status, message naming method and path. Returns the code. */
int gb_graph__reply_error(gb_graph *g, const char *method, const char *url, const gb_graph_response *r,
			  gb_error *err);

/* JSON accessors: NULL when absent or of another type. */
const char *gb_graph__str(const json_t *o, const char *key);

#endif
