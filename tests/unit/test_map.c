/* Unit tests of the hash map: many keys, replacement, deletion with reuse, case-insensitive keys, iteration. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "groupbridge/map.h"

Test(map, holds_many_keys_and_deletes)
{
	gb_map *m;
	char k[32];
	size_t i, pos = 0, seen = 0;
	const char *key;
	void *v;

	cr_assert_eq(gb_map_new(0, &m, NULL), 0);
	for (i = 1; i <= 100000; i++) {
		snprintf(k, sizeof(k), "key-%zu", i);
		cr_assert_eq(gb_map_set(m, k, (void *)(uintptr_t)i, NULL), 0);
	}
	cr_assert_eq(gb_map_count(m), 100000);
	cr_assert_eq((uintptr_t)gb_map_get(m, "key-77777"), 77777);
	cr_assert_null(gb_map_get(m, "key-0"));
	cr_assert_eq(gb_map_set(m, "key-5", (void *)(uintptr_t)55, NULL), 0);
	cr_assert_eq((uintptr_t)gb_map_get(m, "key-5"), 55);
	cr_assert_eq(gb_map_count(m), 100000);
	for (i = 1; i <= 100000; i += 2) {
		snprintf(k, sizeof(k), "key-%zu", i);
		cr_assert_eq(gb_map_del(m, k), 1);
	}
	cr_assert_eq(gb_map_del(m, "key-1"), 0);
	cr_assert_eq(gb_map_count(m), 50000);
	cr_assert_null(gb_map_get(m, "key-1"));
	cr_assert_eq((uintptr_t)gb_map_get(m, "key-2"), 2);
	/* deleted slots are reused without losing live keys */
	for (i = 1; i <= 100000; i += 2) {
		snprintf(k, sizeof(k), "key-%zu", i);
		cr_assert_eq(gb_map_set(m, k, (void *)(uintptr_t)i, NULL), 0);
	}
	cr_assert_eq(gb_map_count(m), 100000);
	while (gb_map_next(m, &pos, &key, &v))
		seen++;
	cr_assert_eq(seen, 100000);
	gb_map_free(m);
	gb_map_free(NULL);
}

Test(map, icase_keys_match_regardless_of_case)
{
	gb_map *m;

	cr_assert_eq(gb_map_new(GB_MAP_ICASE, &m, NULL), 0);
	gb_map_set(m, "7DDABD6A-BB4B-4560-9A76-B1F20DE3B347", (void *)1, NULL);
	cr_assert_not_null(gb_map_get(m, "7ddabd6a-bb4b-4560-9a76-b1f20de3b347"));
	gb_map_set(m, "cn=x,dc=y", (void *)2, NULL);
	cr_assert_eq(gb_map_count(m), 2);
	cr_assert_eq((uintptr_t)gb_map_get(m, "CN=X,DC=Y"), 2);
	gb_map_free(m);
	cr_assert_eq(gb_map_new(0, &m, NULL), 0);
	gb_map_set(m, "A", (void *)1, NULL);
	cr_assert_null(gb_map_get(m, "a"));
	gb_map_free(m);
}

/* A NULL key is a programming error the map stops at (it used to read through the NULL pointer). */
Test(map, a_null_key_fails_an_assertion, .signal = SIGABRT)
{
	gb_map *m;

	cr_assert_eq(gb_map_new(0, &m, NULL), 0);
	gb_map_set(m, NULL, m, NULL);
}

/* Many sets and deletes keep the invariants the assertions check (a free slot always ends a probe). */
Test(map, churn_keeps_the_invariants)
{
	gb_map *m;
	char k[32];
	size_t i;

	cr_assert_eq(gb_map_new(GB_MAP_ICASE, &m, NULL), 0);
	for (i = 0; i < 50000; i++) {
		snprintf(k, sizeof(k), "K%zu", i % 97);
		if (i % 3 == 2)
			gb_map_del(m, k);
		else
			cr_assert_eq(gb_map_set(m, k, m, NULL), 0);
		cr_assert_leq(gb_map_count(m), 97);
	}
	gb_map_free(m);
}

/* A map filled by walking another one (how a pass narrows one set of ids to another) receives its keys in the first
 * map's slot order. With the slot taken from the low bits of the hash alone, a smaller table turned that order into
 * long runs: copying these 11,100 ids (the shape of the benchmark's users) reached runs of 762 slots while it grew,
 * and lookups spent a quarter of an incremental pass comparing strings. Every prefix of the copy must stay as short
 * as the original's runs allow. */
Test(map, a_map_filled_in_another_maps_order_keeps_short_probes)
{
	gb_map *a, *b;
	char k[48];
	const char *key;
	void *v;
	size_t i, pos = 0, n = 0, worst = 0, p;

	cr_assert_eq(gb_map_new(GB_MAP_ICASE, &a, NULL), 0);
	cr_assert_eq(gb_map_new(GB_MAP_ICASE, &b, NULL), 0);
	for (i = 0; i < 11100; i++) {
		snprintf(k, sizeof(k), "0bc10d00-0000-4000-8000-%012zx", i);
		cr_assert_eq(gb_map_set(a, k, a, NULL), 0);
	}
	while (gb_map_next(a, &pos, &key, &v)) {
		cr_assert_eq(gb_map_set(b, key, v, NULL), 0);
		if (++n % 500 == 0 && (p = gb_map_longest_probe(b)) > worst)
			worst = p;
	}
	cr_assert_eq(gb_map_count(b), 11100);
	cr_assert_leq(gb_map_longest_probe(a), 120, "the original's runs: %zu", gb_map_longest_probe(a));
	cr_assert_leq(worst, 120, "the copy reached a run of %zu slots", worst);
	gb_map_free(a);
	gb_map_free(b);
}
