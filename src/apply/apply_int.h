/* apply_int.h: what the engine (engine.c) shares with its executors (ldap.c, graph.c); private to src/apply. */
#ifndef GROUPBRIDGE_APPLY_INT_H
#define GROUPBRIDGE_APPLY_INT_H

#include "groupbridge/apply.h"

/* What an executor fills besides its return code (the engine owns and frees the strings). */
typedef struct gb_exec_out {
	char *dn_after;   /* create, rename, move: the object's DN afterwards */
	char *guid;       /* create: the new group's objectGUID */
	char *created_id; /* Graph creates: the new object's id */
} gb_exec_out;

void gb_exec_out_clear(gb_exec_out *x);

/* One operation, sent to target (op->target, or where an earlier rename left the object). 0 or the GB_E* code,
 * with the message in err. */
typedef int (*gb_executor)(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
			   gb_error *err);

/* LDAP executors (ldap.c). */
int gb_exec_ldap_create(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x, gb_error *err);
int gb_exec_ldap_set(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x, gb_error *err);
int gb_exec_ldap_rename(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x, gb_error *err);
int gb_exec_ldap_add_members(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
			     gb_error *err);
int gb_exec_ldap_remove_members(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
				gb_error *err);
int gb_exec_ldap_delete(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x, gb_error *err);
int gb_exec_ldap_add_value(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
			   gb_error *err);
int gb_exec_ldap_delete_value(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
			      gb_error *err);

/* Whether op and next go to the directory as one request (a new group with its members when they fit one batch,
 * or a group's added and removed members). */
bool gb_exec_ldap_pairs(const gb_op *op, const gb_op *next, size_t batch);

/* Sends op and next (see gb_exec_ldap_pairs) as one request: op's outcome is returned (message in err), next's goes
 * to *next_rc (message in next_err; GB_OUTCOME_SKIPPED semantics when *next_skipped: a group that could not be
 * added has no members to add). */
int gb_exec_ldap_pair(const gb_apply_opts *o, const gb_op *op, const char *target, const gb_op *next,
		      gb_exec_out *x, int *next_rc, bool *next_skipped, gb_error *next_err, gb_error *err);

/* Graph executors (graph.c). */
int gb_exec_graph_create_app(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
			     gb_error *err);
int gb_exec_graph_create_sp(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
			    gb_error *err);
int gb_exec_graph_create_extension(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
				   gb_error *err);
int gb_exec_graph_set_extension(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
				gb_error *err);
int gb_exec_graph_set_soa(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
			  gb_error *err);
int gb_exec_graph_assign_role(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
			      gb_error *err);
int gb_exec_graph_remove_role(const gb_apply_opts *o, const gb_op *op, const char *target, gb_exec_out *x,
			      gb_error *err);

/* The value of op's attribute name, required: GB_EINVAL naming op and the attribute when it is absent. */
int gb_exec_need(const gb_op *op, const char *name, bool after, const char **out, gb_error *err);

/* ---- writes in flight (pool.c) ---- */

/* A pool of up to max worker threads, each with a twin connection (gb_directory_twin) of primary, made when every
 * worker is busy and another job comes (as many as gb_pool_expect says, connected at once). Only the thread that made the pool calls these. */
typedef struct gb_pool gb_pool;
typedef void (*gb_pool_fn)(void *job, gb_directory *dir);

int gb_pool_new(gb_directory *primary, size_t max, const char *tag, gb_pool **out, gb_error *err);

/* The most jobs the caller will have in flight at once (say, the plan's operations): when the pool grows, it connects
 * that many twins at once (up to max), and no more. */
void gb_pool_expect(gb_pool *p, size_t jobs);

/* Runs fn(job, a worker's connection) on an idle worker, starting one when needed; false when none can take it
 * (max busy, or no twin could be connected or it reached another DC: warned once), and the caller runs it itself. */
bool gb_pool_submit(gb_pool *p, gb_pool_fn fn, void *job);

/* Waits for a job submitted to finish and returns it (in the order they finish). Only while gb_pool_busy > 0. */
void *gb_pool_wait(gb_pool *p);

/* A job that has finished, without waiting (NULL when none has, or p is NULL); as gb_pool_wait otherwise. */
void *gb_pool_take(gb_pool *p);

/* Jobs submitted and not yet returned by gb_pool_wait or gb_pool_take. */
size_t gb_pool_busy(gb_pool *p);

/* The smallest member batch the pool's connections and its primary have come to (gb_directory_member_batch): lower
 * than the primary's first one when the DC refused a batch on any of them. 0 for a NULL pool. */
long gb_pool_member_batch(gb_pool *p);

/* The most jobs that were ever running at once. */
size_t gb_pool_peak(const gb_pool *p);

/* Waits for every job submitted, ends the workers, adds their connections' counters to primary's and closes them.
 * NULL is fine. */
void gb_pool_free(gb_pool *p);

#endif
