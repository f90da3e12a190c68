/*
 * utf8.h: UTF-8 as RFC 3629 defines it: the one decoder the expression language, the plan writer, the reports and
 * the log share.
 *
 * A valid sequence is the shortest form of a code point up to U+10FFFF that is not a UTF-16 surrogate
 * (U+D800-U+DFFF): overlong forms, surrogates, bytes F5-FF and cut sequences are not valid. What a caller does with
 * a byte that does not start a valid sequence is its own rule (the expression language keeps it as a character of
 * its own, JSON writers and reports write U+FFFD), so these functions only tell where it is.
 */
#ifndef GROUPBRIDGE_UTF8_H
#define GROUPBRIDGE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GB_UTF8_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD in UTF-8 */

/* The length (1 to 4) of the valid sequence that starts at s, reading at most n bytes, with its code point in *cp;
 * 0 when n is 0 or the bytes at s are not a valid sequence (*cp is then unchanged). */
size_t gb_utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Writes code point cp (at most U+10FFFF) to out and returns its length (1 to 4). A surrogate is written as its
 * three bytes: callers that must not write one check first. */
size_t gb_utf8_encode(uint32_t cp, char out[4]);

/* True when the n bytes at s are valid UTF-8 throughout. */
bool gb_utf8_valid(const char *s, size_t n);

/* gb_utf8_clean's flags: also replace the C0 control characters other than tab, line feed and carriage return
 * (text for people: reports). */
#define GB_UTF8_CONTROLS 1u

/* A copy of the n bytes at s in which every byte that does not start a valid sequence is U+FFFD (and, with
 * GB_UTF8_CONTROLS, every control character too); NUL-terminated, its length in *outlen when outlen is not NULL.
 * The caller frees it; NULL on allocation failure. */
char *gb_utf8_clean(const char *s, size_t n, unsigned flags, size_t *outlen);

#endif
