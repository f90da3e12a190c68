/* pool.c: the engine's writes in flight (apply.h): a few worker threads, each with a connection of its own (a twin of
 * the caller's handle) to the very DC the caller's handle reaches. Concurrency is I/O only: the engine decides what
 * may run together and records every outcome itself, in plan order, on its own thread. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "groupbridge/log.h"
#include "groupbridge/util.h"

#include "apply/apply_int.h"

typedef struct worker {
	pthread_t thread;
	gb_directory *dir;
	struct gb_pool *pool;
	gb_pool_fn fn; /* the job to run, NULL while idle */
	void *job;
	bool started;
} worker;

struct gb_pool {
	gb_directory *primary;
	const char *tag;
	size_t max;
	worker *w;
	size_t nw;
	size_t busy, peak;
	bool quit;
	bool no_more;     /* a twin could not be connected, or reached another DC: run with what there is */
	char *dsa;        /* the primary's dsServiceName, read when the first twin is made */
	void **done;      /* finished jobs, not yet taken by gb_pool_wait */
	size_t ndone;
	pthread_mutex_t mu;
	pthread_cond_t work; /* a worker has a job, or quit */
	pthread_cond_t fin;  /* a job finished */
};

static void *worker_main(void *arg)
{
	worker *w = arg;
	gb_pool *p = w->pool;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!w->fn && !p->quit)
			pthread_cond_wait(&p->work, &p->mu);
		if (!w->fn)
			break;
		pthread_mutex_unlock(&p->mu);
		w->fn(w->job, w->dir);
		pthread_mutex_lock(&p->mu);
		p->done[p->ndone++] = w->job;
		w->fn = NULL;
		w->job = NULL;
		p->busy--;
		pthread_cond_signal(&p->fin);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int gb_pool_new(gb_directory *primary, size_t max, const char *tag, gb_pool **out, gb_error *err)
{
	gb_pool *p;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p || !(p->w = calloc(max ? max : 1, sizeof(*p->w))) || !(p->done = calloc(max ? max : 1, sizeof(void *)))) {
		if (p)
			free(p->w);
		free(p);
		return gb_error_set(err, GB_ENOMEM, "out of memory");
	}
	p->primary = primary;
	p->max = max;
	p->tag = tag;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->fin, NULL);
	*out = p;
	return 0;
}

/* One more worker, with a twin connected now (on the caller's thread, which owns the primary). A twin that cannot
 * connect, or that reaches another DC (a URI that names several), ends the pool's growth: writes that follow each
 * other (a group's add, then a reference to it) must reach the same DC, and what is written is the same whether two
 * or eight go at once. */
static bool grow(gb_pool *p)
{
	worker *w = &p->w[p->nw];
	char *dsa = NULL;
	gb_error e;
	int rc;

	gb_error_clear(&e);
	if (!p->dsa && !(p->dsa = gb_directory_dsa(p->primary, &e)))
		goto no;
	if ((rc = gb_directory_twin(p->primary, &w->dir, &e)) || (rc = gb_directory_connect(w->dir, &e)))
		goto no;
	if (!(dsa = gb_directory_dsa(w->dir, &e)))
		goto no;
	if (!gb_str_iequal(dsa, p->dsa)) {
		gb_error_set(&e, GB_ECONFIG, "a second connection reached %s, not %s", dsa, p->dsa);
		goto no;
	}
	free(dsa);
	w->pool = p;
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		gb_error_set(&e, GB_ENOMEM, "no thread for a second connection");
		goto no;
	}
	w->started = true;
	p->nw++;
	return true;
no:
	free(dsa);
	gb_directory_free(w->dir);
	w->dir = NULL;
	p->no_more = true;
	gb_warn(p->tag, "writes continue with %zu connection%s in flight: %s", p->nw ? p->nw : 1, p->nw > 1 ? "s" : "",
		e.msg);
	return false;
}

bool gb_pool_submit(gb_pool *p, gb_pool_fn fn, void *job)
{
	size_t i;

	if (!p)
		return false;
	pthread_mutex_lock(&p->mu);
	for (i = 0; i < p->nw && p->w[i].fn; i++)
		;
	pthread_mutex_unlock(&p->mu);
	if (i == p->nw && (p->nw >= p->max || p->no_more || !grow(p)))
		return false;
	pthread_mutex_lock(&p->mu);
	p->w[i].fn = fn;
	p->w[i].job = job;
	p->busy++;
	if (p->busy > p->peak)
		p->peak = p->busy;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	return true;
}

void *gb_pool_wait(gb_pool *p)
{
	void *job;

	pthread_mutex_lock(&p->mu);
	while (!p->ndone)
		pthread_cond_wait(&p->fin, &p->mu);
	job = p->done[0];
	memmove(p->done, p->done + 1, --p->ndone * sizeof(void *));
	pthread_mutex_unlock(&p->mu);
	return job;
}

size_t gb_pool_busy(gb_pool *p)
{
	size_t n;

	if (!p)
		return 0;
	pthread_mutex_lock(&p->mu);
	n = p->busy + p->ndone;
	pthread_mutex_unlock(&p->mu);
	return n;
}

size_t gb_pool_peak(const gb_pool *p)
{
	return p ? p->peak : 0;
}

void gb_pool_free(gb_pool *p)
{
	size_t i;

	if (!p)
		return;
	while (gb_pool_busy(p)) /* a caller that stops early still waits for what it sent */
		(void)gb_pool_wait(p);
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->nw; i++) {
		if (p->w[i].started)
			pthread_join(p->w[i].thread, NULL);
		gb_directory_stats_add(p->primary, gb_directory_get_stats(p->w[i].dir));
		gb_directory_free(p->w[i].dir);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->fin);
	free(p->dsa);
	free(p->done);
	free(p->w);
	free(p);
}
