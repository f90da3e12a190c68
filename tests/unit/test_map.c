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
