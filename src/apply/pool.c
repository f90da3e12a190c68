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
	size_t want;      /* the most jobs the caller expects at once (gb_pool_expect): twins beyond it are not made */
	char *dsa;        /* the primary's dsServiceName, read when the first twin is made */
	long batch;       /* the smallest member batch any connection has come to (a refusal halves one): every
			   * connection takes it before its next job, so that the DC refuses a batch size once */
	void **done;      /* finished jobs, not yet taken by gb_pool_wait */
	size_t ndone;
	pthread_mutex_t mu;
	pthread_cond_t work; /* a worker has a job, or quit */
	pthread_cond_t fin;  /* a job finished */
};

/* p->batch becomes the smaller of its own and dir's (p->mu held, or on the pool's own thread before any worker). */
static void share_batch(gb_pool *p, const gb_directory *dir)
{
	long b = gb_directory_member_batch(dir);

	if (b > 0 && (!p->batch || b < p->batch))
		p->batch = b;
}

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
		gb_directory_lower_member_batch(w->dir, p->batch);
		pthread_mutex_unlock(&p->mu);
		w->fn(w->job, w->dir);
		pthread_mutex_lock(&p->mu);
		share_batch(p, w->dir);
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
	p->want = max;
	p->tag = tag;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->fin, NULL);
	*out = p;
	return 0;
}

/* A twin being connected on a thread of its own, so that several connect at once. */
typedef struct dial {
	gb_directory *dir;
	char *dsa;
	gb_error e;
	pthread_t thread;
	bool started;
} dial;

static void *dial_main(void *arg)
{
	dial *d = arg;

	if (gb_directory_connect(d->dir, &d->e) == 0)
		d->dsa = gb_directory_dsa(d->dir, &d->e);
	return NULL;
}

/* Starts a worker on the connected twin dir (taken). False when no thread could be made (dir is then freed). */
static bool start_worker(gb_pool *p, gb_directory *dir, gb_error *e)
{
	worker *w = &p->w[p->nw];

	w->dir = dir;
	w->pool = p;
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		gb_directory_free(dir);
		w->dir = NULL;
		gb_error_set(e, GB_ENOMEM, "no thread for a second connection");
		return false;
	}
	w->started = true;
	p->nw++;
	return true;
}

/* More workers, as many as the pool still expects (at least one), with twins made here (on the caller's thread, which
 * owns the primary) and connected at once, each on a thread of its own: connecting them one after another held the
 * engine for a TLS handshake, a bind and a root DSE read per twin. A twin that cannot connect, or that reaches
 * another DC (a URI that names several), ends the pool's growth: writes that follow each other (a group's add, then a
 * reference to it) must reach the same DC, and what is written is the same whether two or eight go at once. True when
 * the pool has a worker more. */
static bool grow(gb_pool *p)
{
	size_t want = (p->want < p->max ? p->want : p->max), n = want > p->nw ? want - p->nw : 1, i, before = p->nw;
	dial *d;
	gb_error e;

	gb_error_clear(&e);
	if (!p->dsa && !(p->dsa = gb_directory_dsa(p->primary, &e)))
		goto no;
	if (!(d = calloc(n, sizeof(*d)))) {
		gb_error_set(&e, GB_ENOMEM, "out of memory");
		goto no;
	}
	for (i = 0; i < n; i++) {
		gb_error_clear(&d[i].e);
		if (gb_directory_twin(p->primary, &d[i].dir, &d[i].e) == 0)
			d[i].started = pthread_create(&d[i].thread, NULL, dial_main, &d[i]) == 0;
		if (d[i].dir && !d[i].started)
			gb_error_set(&d[i].e, GB_ENOMEM, "no thread to connect a second connection");
	}
	for (i = 0; i < n; i++) {
		if (d[i].started)
			pthread_join(d[i].thread, NULL);
		if (!e.code && d[i].dsa && !gb_str_iequal(d[i].dsa, p->dsa))
			gb_error_set(&e, GB_ECONFIG, "a second connection reached %s, not %s", d[i].dsa, p->dsa);
		else if (!e.code && !d[i].dsa)
			e = d[i].e;
		if (!e.code && start_worker(p, d[i].dir, &e))
			d[i].dir = NULL;
		gb_directory_free(d[i].dir);
		free(d[i].dsa);
	}
	free(d);
	if (!e.code)
		return true;
no:
	p->no_more = true;
	gb_warn(p->tag, "writes continue with %zu connection%s in flight: %s", p->nw ? p->nw : 1, p->nw > 1 ? "s" : "",
		e.msg);
	return p->nw > before;
}

void gb_pool_expect(gb_pool *p, size_t jobs)
{
	if (p)
		p->want = jobs ? jobs : 1;
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
	share_batch(p, p->primary); /* the primary writes on the engine's thread between jobs */
	gb_directory_lower_member_batch(p->primary, p->batch);
	p->w[i].fn = fn;
	p->w[i].job = job;
	p->busy++;
	if (p->busy > p->peak)
		p->peak = p->busy;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	return true;
}

/* The oldest finished job, taken off the list (p->mu held, p->ndone > 0). */
static void *pop_done(gb_pool *p)
{
	void *job = p->done[0];

	memmove(p->done, p->done + 1, --p->ndone * sizeof(void *));
	return job;
}

void *gb_pool_wait(gb_pool *p)
{
	void *job;

	pthread_mutex_lock(&p->mu);
	while (!p->ndone)
		pthread_cond_wait(&p->fin, &p->mu);
	job = pop_done(p);
	pthread_mutex_unlock(&p->mu);
	return job;
}

void *gb_pool_take(gb_pool *p)
{
	void *job = NULL;

	if (!p)
		return NULL;
	pthread_mutex_lock(&p->mu);
	if (p->ndone)
		job = pop_done(p);
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

long gb_pool_member_batch(gb_pool *p)
{
	long b;

	if (!p)
		return 0;
	pthread_mutex_lock(&p->mu);
	share_batch(p, p->primary);
	b = p->batch;
	pthread_mutex_unlock(&p->mu);
	return b;
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
