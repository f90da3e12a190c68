/* date.c: CDate, DateAdd, DateDiff, DateFromNum, NumFromDate, FormatDateTime and Now (.NET-style formats). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "expr/expr_int.h"
#include "groupbridge/util.h"

#define TICKS_PER_SEC 10000000LL
#define EPOCH_1601 11644473600LL /* seconds from 1601-01-01 to 1970-01-01 */

typedef struct dt {
	int year, month, day, hour, min, sec;
	int32_t ticks;  /* 100-ns units within the second */
	int off_min;    /* offset from UTC, when has_off */
	bool has_off;
	bool utc;       /* written with Z */
} dt;

static const char *const months[12] = {"January", "February", "March",     "April",   "May",      "June",
                                       "July",    "August",   "September", "October", "November", "December"};
static const char *const wdays[7] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int mdays(int y, int m)
{
	static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (the era arithmetic of the civil calendar). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp, yy;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (*m <= 2));
}

static int64_t floordiv(int64_t a, int64_t b)
{
	return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

static bool valid(const dt *d)
{
	return d->year >= 1 && d->year <= 9999 && d->month >= 1 && d->month <= 12 && d->day >= 1 &&
	       d->day <= mdays(d->year, d->month) && d->hour >= 0 && d->hour < 24 && d->min >= 0 && d->min < 60 &&
	       d->sec >= 0 && d->sec < 60 && d->off_min > -24 * 60 && d->off_min < 24 * 60;
}

/* Seconds since 1970 in UTC. */
static int64_t to_epoch(const dt *d)
{
	return days_from_civil(d->year, d->month, d->day) * 86400 + d->hour * 3600 + d->min * 60 + d->sec -
	       (d->has_off ? d->off_min * 60 : 0);
}

static bool from_epoch(int64_t secs, int32_t ticks, dt *d)
{
	int64_t days = floordiv(secs, 86400), rem = secs - days * 86400;

	memset(d, 0, sizeof(*d));
	civil_from_days(days, &d->year, &d->month, &d->day);
	d->hour = (int)(rem / 3600);
	d->min = (int)(rem / 60 % 60);
	d->sec = (int)(rem % 60);
	d->ticks = ticks;
	d->utc = true;
	return d->year >= 1 && d->year <= 9999;
}

/* ---- reading ---- */

static bool digits(const char *s, size_t len, size_t *i, int min, int max, int *out)
{
	int v = 0, n = 0;

	while (*i < len && n < max && s[*i] >= '0' && s[*i] <= '9') {
		v = v * 10 + (s[*i] - '0');
		(*i)++;
		n++;
	}
	*out = v;
	return n >= min;
}

static bool zone(const char *s, size_t len, size_t *i, dt *d)
{
	int h, m = 0, sign;

	if (*i < len && s[*i] == 'Z') {
		(*i)++;
		d->utc = true;
		return true;
	}
	if (*i >= len || (s[*i] != '+' && s[*i] != '-'))
		return false;
	sign = s[(*i)++] == '-' ? -1 : 1;
	if (!digits(s, len, i, 1, 2, &h))
		return false;
	if (*i < len && s[*i] == ':')
		(*i)++;
	if (*i < len && s[*i] >= '0' && s[*i] <= '9' && !digits(s, len, i, 2, 2, &m))
		return false;
	if (h > 14 || m > 59)
		return false;
	d->has_off = true;
	d->off_min = sign * (h * 60 + m);
	return true;
}

static bool fraction(const char *s, size_t len, size_t *i, int32_t *ticks)
{
	int32_t t = 0, scale = 1000000;
	size_t n = 0;

	while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
		if (n < 7) {
			t += (s[*i] - '0') * scale;
			scale /= 10;
		}
		(*i)++;
		n++;
	}
	*ticks = t;
	return n > 0;
}

/* ISO 8601 ("2021-06-30", "2021-06-30+08:00", "2009-06-15T01:45:30-07:00", "2020-12-31 23:59:59-08:00"), AD's
 * generalized time ("20150123105347.0Z") and .NET's invariant "M/d/yyyy h:mm:ss tt". No zone means UTC. */
static bool parse_generic(const char *s, size_t len, dt *d)
{
	size_t i = 0;

	memset(d, 0, sizeof(*d));
	while (i < len && s[i] == ' ')
		i++;
	while (len > i && s[len - 1] == ' ')
		len--;
	if (len - i >= 14 && s[i + 4] >= '0' && s[i + 4] <= '9' && s[i + 8] >= '0' && s[i + 8] <= '9') {
		size_t j = i;

		if (!digits(s, len, &j, 4, 4, &d->year) || !digits(s, len, &j, 2, 2, &d->month) ||
		    !digits(s, len, &j, 2, 2, &d->day) || !digits(s, len, &j, 2, 2, &d->hour) ||
		    !digits(s, len, &j, 2, 2, &d->min) || !digits(s, len, &j, 2, 2, &d->sec))
			return false;
		if (j < len && (s[j] == '.' || s[j] == ',')) {
			j++;
			if (!fraction(s, len, &j, &d->ticks))
				return false;
		}
		if (j < len && !zone(s, len, &j, d))
			return false;
		return j == len && valid(d);
	}
	if (len - i >= 8 && s[i + 4] == '-') {
		if (!digits(s, len, &i, 4, 4, &d->year) || s[i++] != '-' || !digits(s, len, &i, 2, 2, &d->month) ||
		    i >= len || s[i++] != '-' || !digits(s, len, &i, 2, 2, &d->day))
			return false;
		if (i < len && (s[i] == 'T' || s[i] == ' ') && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9') {
			i++;
			if (!digits(s, len, &i, 2, 2, &d->hour) || i >= len || s[i++] != ':' ||
			    !digits(s, len, &i, 2, 2, &d->min))
				return false;
			if (i < len && s[i] == ':') {
				i++;
				if (!digits(s, len, &i, 2, 2, &d->sec))
					return false;
				if (i < len && s[i] == '.') {
					i++;
					if (!fraction(s, len, &i, &d->ticks))
						return false;
				}
			}
		}
		if (i < len && !zone(s, len, &i, d))
			return false;
		return i == len && valid(d);
	}
	if (!digits(s, len, &i, 1, 2, &d->month) || i >= len || s[i++] != '/' || !digits(s, len, &i, 1, 2, &d->day) ||
	    i >= len || s[i++] != '/' || !digits(s, len, &i, 4, 4, &d->year))
		return false;
	if (i < len && s[i] == ' ') {
		i++;
		if (!digits(s, len, &i, 1, 2, &d->hour) || i >= len || s[i++] != ':' || !digits(s, len, &i, 2, 2, &d->min))
			return false;
		if (i < len && s[i] == ':' && (++i, !digits(s, len, &i, 2, 2, &d->sec)))
			return false;
		if (i < len && s[i] == ' ') {
			i++;
			if (len - i >= 2 && (s[i] == 'A' || s[i] == 'P') && s[i + 1] == 'M') {
				if (d->hour < 1 || d->hour > 12)
					return false;
				d->hour = d->hour % 12 + (s[i] == 'P' ? 12 : 0);
				i += 2;
			} else {
				return false;
			}
		}
	}
	if (i < len && !zone(s, len, &i, d))
		return false;
	return i == len && valid(d);
}

/* ---- .NET custom format strings ---- */

/* Length of the run of the same letter at f[i]. */
static size_t run(const char *f, size_t flen, size_t i)
{
	size_t k = i;

	while (k < flen && f[k] == f[i])
		k++;
	return k - i;
}

static bool is_spec(char ch)
{
	return strchr("yMdhHmsfFtzK", ch) != NULL && ch;
}

static int put_num(ctx *c, const node *n, sb *b, long v, size_t width)
{
	char t[32];

	snprintf(t, sizeof(t), "%0*ld", (int)(width > 9 ? 9 : width), v);
	return gb_expr__sb_add(c, n, b, t, strlen(t));
}

static int format_dt(ctx *c, const node *n, const dt *d, const char *f, size_t flen, sb *b)
{
	size_t i = 0, k;
	int rc = 0;

	while (i < flen) {
		char ch = f[i];

		if (ch == '\\' && i + 1 < flen) {
			rc = gb_expr__sb_addc(c, n, b, f[i + 1]);
			i += 2;
		} else if (ch == '\'' || ch == '"') {
			const char *close = memchr(f + i + 1, ch, flen - i - 1);

			if (!close)
				return gb_expr__err(c, n, GB_EINVAL, "%s: unterminated quote in the format",
				                    n->fn->name);
			rc = gb_expr__sb_add(c, n, b, f + i + 1, (size_t)(close - f - i - 1));
			i = (size_t)(close - f) + 1;
		} else if (ch == '%') {
			i++;
			continue;
		} else if (is_spec(ch)) {
			k = run(f, flen, i);
			switch (ch) {
			case 'y':
				rc = k <= 2 ? put_num(c, n, b, d->year % 100, k) : put_num(c, n, b, d->year, k);
				break;
			case 'M':
				rc = k <= 2 ? put_num(c, n, b, d->month, k)
				            : gb_expr__sb_add(c, n, b, months[d->month - 1],
				                              k == 3 ? 3 : strlen(months[d->month - 1]));
				break;
			case 'd':
				if (k <= 2) {
					rc = put_num(c, n, b, d->day, k);
				} else {
					int w = (int)((days_from_civil(d->year, d->month, d->day) % 7 + 11) % 7);

					rc = gb_expr__sb_add(c, n, b, wdays[w], k == 3 ? 3 : strlen(wdays[w]));
				}
				break;
			case 'h':
				rc = put_num(c, n, b, d->hour % 12 == 0 ? 12 : d->hour % 12, k > 2 ? 2 : k);
				break;
			case 'H':
				rc = put_num(c, n, b, d->hour, k > 2 ? 2 : k);
				break;
			case 'm':
				rc = put_num(c, n, b, d->min, k > 2 ? 2 : k);
				break;
			case 's':
				rc = put_num(c, n, b, d->sec, k > 2 ? 2 : k);
				break;
			case 'f':
			case 'F': {
				char t[8];
				size_t w = k > 7 ? 7 : k;

				snprintf(t, sizeof(t), "%07ld", (long)d->ticks);
				t[w] = '\0';
				if (ch == 'F')
					while (w > 0 && t[w - 1] == '0')
						t[--w] = '\0';
				rc = gb_expr__sb_add(c, n, b, t, w);
				break;
			}
			case 't': rc = gb_expr__sb_add(c, n, b, d->hour < 12 ? "AM" : "PM", k == 1 ? 1 : 2); break;
			case 'z':
			case 'K': {
				int off = d->has_off ? d->off_min : 0, a = off < 0 ? -off : off;
				char t[16];

				if (ch == 'K' && !d->has_off) {
					if (d->utc)
						rc = gb_expr__sb_addc(c, n, b, 'Z');
					break;
				}
				if (ch == 'z' && k == 1)
					snprintf(t, sizeof(t), "%c%d", off < 0 ? '-' : '+', a / 60);
				else if (ch == 'z' && k == 2)
					snprintf(t, sizeof(t), "%c%02d", off < 0 ? '-' : '+', a / 60);
				else
					snprintf(t, sizeof(t), "%c%02d:%02d", off < 0 ? '-' : '+', a / 60, a % 60);
				rc = gb_expr__sb_add(c, n, b, t, strlen(t));
				break;
			}
			}
			i += k;
		} else {
			rc = gb_expr__sb_addc(c, n, b, ch);
			i++;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static bool read_name(const char *s, size_t len, size_t *i, const char *const *names, int count, size_t k, int *out)
{
	int j;

	for (j = 0; j < count; j++) {
		size_t nl = k == 3 ? 3 : strlen(names[j]);

		if (len - *i >= nl && strncmp(s + *i, names[j], nl) == 0) {
			*i += nl;
			*out = j;
			return true;
		}
	}
	return false;
}

/* What parsing a format has read so far besides the date: the AM/PM designator and a 12-hour clock hour. */
typedef struct clock12 {
	int pm;  /* 1 for PM, 0 for AM, -1 when the format has no t */
	int h12; /* the h hour, -1 when the format has no h */
} clock12;

/* Reads the run of k letters ch (a format specifier) from s at *i. Returns false when s does not fit it. */
static bool parse_spec(const char *s, size_t len, size_t *i, char ch, size_t k, dt *d, clock12 *ck)
{
	int v;

	switch (ch) {
	case 'y':
		if (k <= 2) {
			if (!digits(s, len, i, k == 1 ? 1 : 2, 2, &v))
				return false;
			d->year = v + (v <= 29 ? 2000 : 1900); /* .NET's two-digit window ends at 2029 */
			return true;
		} else {
			int w = k > 4 ? (int)(k > 9 ? 9 : k) : 4;

			return digits(s, len, i, k == 3 ? 3 : w, w, &d->year);
		}
	case 'M':
		if (k <= 2)
			return digits(s, len, i, (int)k, 2, &d->month);
		if (!read_name(s, len, i, months, 12, k, &v))
			return false;
		d->month = v + 1;
		return true;
	case 'd':
		if (k <= 2)
			return digits(s, len, i, (int)k, 2, &d->day);
		return read_name(s, len, i, wdays, 7, k, &v);
	case 'h': return digits(s, len, i, (int)(k > 2 ? 2 : k), 2, &ck->h12);
	case 'H': return digits(s, len, i, (int)(k > 2 ? 2 : k), 2, &d->hour);
	case 'm': return digits(s, len, i, (int)(k > 2 ? 2 : k), 2, &d->min);
	case 's': return digits(s, len, i, (int)(k > 2 ? 2 : k), 2, &d->sec);
	case 'f':
	case 'F': {
		size_t start = *i, w = k > 7 ? 7 : k;
		int32_t t = 0, scale = 1000000;

		while (*i < len && *i - start < w && s[*i] >= '0' && s[*i] <= '9') {
			t += (s[(*i)++] - '0') * scale;
			scale /= 10;
		}
		if (ch == 'f' && *i - start != w)
			return false;
		d->ticks = t;
		return true;
	}
	case 't':
		if (*i >= len || (s[*i] != 'A' && s[*i] != 'P'))
			return false;
		ck->pm = s[(*i)++] == 'P';
		if (k > 1) {
			if (*i >= len || s[*i] != 'M')
				return false;
			(*i)++;
		}
		return true;
	case 'z':
	case 'K':
		if (ch == 'K' && (*i >= len || (s[*i] != 'Z' && s[*i] != '+' && s[*i] != '-')))
			return true;
		return zone(s, len, i, d);
	}
	return true;
}

/* Parses s with a .NET custom format. Returns false when s does not fit the format. */
static bool parse_format(const char *s, size_t len, const char *f, size_t flen, dt *d)
{
	size_t i = 0, p = 0, k;
	clock12 ck = {-1, -1};

	memset(d, 0, sizeof(*d));
	d->year = 1, d->month = 1, d->day = 1;
	while (p < flen) {
		char ch = f[p];

		if (ch == '\\' && p + 1 < flen) {
			if (i >= len || s[i] != f[p + 1])
				return false;
			i++;
			p += 2;
		} else if (ch == '\'' || ch == '"') {
			const char *close = memchr(f + p + 1, ch, flen - p - 1);
			size_t ql;

			if (!close)
				return false;
			ql = (size_t)(close - f - p - 1);
			if (len - i < ql || memcmp(s + i, f + p + 1, ql) != 0)
				return false;
			i += ql;
			p = (size_t)(close - f) + 1;
		} else if (ch == '%') {
			p++;
		} else if (is_spec(ch)) {
			k = run(f, flen, p);
			p += k;
			if (!parse_spec(s, len, &i, ch, k, d, &ck))
				return false;
		} else {
			if (i >= len || s[i] != ch)
				return false;
			i++;
			p++;
		}
	}
	if (ck.h12 >= 0) {
		if (ck.h12 < 1 || ck.h12 > 12)
			return false;
		d->hour = ck.h12 % 12 + (ck.pm == 1 ? 12 : 0);
	} else if (ck.pm == 1 && d->hour < 12) {
		d->hour += 12;
	}
	return i == len && valid(d);
}

/* ---- the functions ---- */

static int arg_date(ctx *c, const node *n, size_t i, dt *d, bool *isnull)
{
	const char *s;
	size_t len;
	int rc;

	*isnull = false;
	if ((rc = gb_expr__arg_str(c, n, i, &s, &len)) < 0)
		return rc;
	if (!s) {
		*isnull = true;
		return 0;
	}
	if (!parse_generic(s, len, d))
		return gb_expr__err(c, n, GB_EINVAL,
		                    "%s: \"%.60s\" is not a date this evaluator reads (ISO 8601 or "
		                    "M/d/yyyy h:mm:ss tt)",
		                    n->fn->name, s);
	return 0;
}

/* Writes the UTC instant secs/ticks in .NET's invariant general format M/d/yyyy h:mm:ss tt. */
static int out_date(ctx *c, const node *n, int64_t secs, int32_t ticks, val *out)
{
	static const char general[] = "M/d/yyyy h:mm:ss tt";
	sb b = {0};
	dt d;
	int rc;

	if (!from_epoch(secs, ticks, &d))
		return gb_expr__err(c, n, GB_EINVAL, "%s: the date is outside the years 1 to 9999", n->fn->name);
	if ((rc = format_dt(c, n, &d, general, strlen(general), &b)) < 0)
		return rc;
	return gb_expr__sb_done(c, n, &b, out);
}

/* The functions of one date (argument 0): a null date gives a null result, else of(date). */
static int of_date(ctx *c, const node *n, val *out, int (*of)(ctx *c, const node *n, const dt *d, val *out))
{
	bool isnull;
	dt d;
	int rc;

	if ((rc = arg_date(c, n, 0, &d, &isnull)) < 0)
		return rc;
	if (isnull)
		return gb_expr__set_null(out);
	return of(c, n, &d, out);
}

static int cdate_of(ctx *c, const node *n, const dt *d, val *out)
{
	return out_date(c, n, to_epoch(d), d->ticks, out);
}

int gb_expr__fn_cdate(ctx *c, const node *n, val *out)
{
	return of_date(c, n, out, cdate_of);
}

int gb_expr__fn_now(ctx *c, const node *n, val *out)
{
	return out_date(c, n, (int64_t)time(NULL), 0, out);
}

static int interval(ctx *c, const node *n, char *out, size_t outn)
{
	const char *s;
	size_t len;
	int rc;

	if ((rc = gb_expr__arg_str(c, n, 0, &s, &len)) < 0)
		return rc;
	if (!s || !(strcmp(s, "yyyy") == 0 || strcmp(s, "m") == 0 || strcmp(s, "d") == 0 || strcmp(s, "ww") == 0 ||
	            strcmp(s, "h") == 0 || strcmp(s, "n") == 0 || strcmp(s, "s") == 0))
		return gb_expr__err(c, n, GB_EINVAL, "%s: interval \"%.20s\" is not one of yyyy, m, d, ww, h, n, s",
		                    n->fn->name, s ? s : "(null)");
	snprintf(out, outn, "%s", s);
	return 0;
}

int gb_expr__fn_dateadd(ctx *c, const node *n, val *out)
{
	char iv[8];
	int64_t k, secs;
	bool isnull;
	dt d;
	int rc;

	if ((rc = interval(c, n, iv, sizeof(iv))) < 0 || (rc = gb_expr__arg_int(c, n, 1, &k)) < 0 ||
	    (rc = arg_date(c, n, 2, &d, &isnull)) < 0)
		return rc;
	if (isnull)
		return gb_expr__set_null(out);
	if (k > 4000000000000LL || k < -4000000000000LL)
		return gb_expr__err(c, n, GB_EINVAL, "DateAdd: %lld is out of range", (long long)k);
	if (strcmp(iv, "yyyy") == 0 || strcmp(iv, "m") == 0) {
		int64_t nmonths = (strcmp(iv, "yyyy") == 0 ? k * 12 : k), total;

		if (nmonths > 200000 || nmonths < -200000)
			return gb_expr__err(c, n, GB_EINVAL, "DateAdd: %lld is out of range", (long long)k);
		/* convert to UTC first, then move the calendar month and clamp the day (as .NET AddMonths) */
		from_epoch(to_epoch(&d), d.ticks, &d);
		total = (int64_t)d.year * 12 + (d.month - 1) + nmonths;
		d.year = (int)floordiv(total, 12);
		d.month = (int)(total - (int64_t)d.year * 12) + 1;
		if (d.year < 1 || d.year > 9999)
			return gb_expr__err(c, n, GB_EINVAL, "DateAdd: the date is outside the years 1 to 9999");
		if (d.day > mdays(d.year, d.month))
			d.day = mdays(d.year, d.month);
		secs = to_epoch(&d);
	} else {
		int64_t unit = iv[0] == 'd' ? 86400 : iv[0] == 'w' ? 7 * 86400 : iv[0] == 'h' ? 3600 : iv[0] == 'n' ? 60 : 1;

		secs = to_epoch(&d) + k * unit;
	}
	return out_date(c, n, secs, d.ticks, out);
}

int gb_expr__fn_datediff(ctx *c, const node *n, val *out)
{
	char iv[8];
	bool n1, n2;
	dt a, b;
	int64_t sa, sb_, r;
	int rc;

	if ((rc = interval(c, n, iv, sizeof(iv))) < 0 || (rc = arg_date(c, n, 1, &a, &n1)) < 0 ||
	    (rc = arg_date(c, n, 2, &b, &n2)) < 0)
		return rc;
	if (n1 || n2)
		return gb_expr__set_null(out);
	sa = to_epoch(&a);
	sb_ = to_epoch(&b);
	from_epoch(sa, 0, &a);
	from_epoch(sb_, 0, &b);
	if (strcmp(iv, "yyyy") == 0)
		r = b.year - a.year;
	else if (strcmp(iv, "m") == 0)
		r = (int64_t)(b.year - a.year) * 12 + (b.month - a.month);
	else if (strcmp(iv, "d") == 0)
		r = floordiv(sb_, 86400) - floordiv(sa, 86400);
	else if (strcmp(iv, "ww") == 0) /* Sundays crossed: 1970-01-04 was a Sunday */
		r = floordiv(floordiv(sb_, 86400) + 4, 7) - floordiv(floordiv(sa, 86400) + 4, 7);
	else if (strcmp(iv, "h") == 0)
		r = floordiv(sb_, 3600) - floordiv(sa, 3600);
	else if (strcmp(iv, "n") == 0)
		r = floordiv(sb_, 60) - floordiv(sa, 60);
	else
		r = sb_ - sa;
	gb_expr__set_int(out, r);
	return 0;
}

int gb_expr__fn_datefromnum(ctx *c, const node *n, val *out)
{
	val v;
	int64_t k;
	int rc;

	if ((rc = gb_expr__arg(c, n, 0, &v, NULL)) < 0)
		return rc;
	if (gb_expr__is_null(&v))
		return gb_expr__set_null(out);
	if ((rc = gb_expr__arg_int(c, n, 0, &k)) < 0)
		return rc;
	if (k < 0)
		return gb_expr__err(c, n, GB_EINVAL, "DateFromNum: %lld is negative", (long long)k);
	return out_date(c, n, k / TICKS_PER_SEC - EPOCH_1601, (int32_t)(k % TICKS_PER_SEC), out);
}

static int numfromdate_of(ctx *c, const node *n, const dt *d, val *out)
{
	int64_t secs = to_epoch(d) + EPOCH_1601;

	if (secs < 0)
		return gb_expr__err(c, n, GB_EINVAL, "NumFromDate: the date is before 1601");
	gb_expr__set_int(out, secs * TICKS_PER_SEC + d->ticks);
	return 0;
}

int gb_expr__fn_numfromdate(ctx *c, const node *n, val *out)
{
	return of_date(c, n, out, numfromdate_of);
}

int gb_expr__fn_formatdatetime(ctx *c, const node *n, val *out)
{
	const char *s, *inf, *outf;
	size_t len, inl, outl, base = n->nargs == 4 ? 2 : 1;
	sb b = {0};
	dt d;
	int rc;

	if ((rc = gb_expr__arg_str(c, n, 0, &s, &len)) < 0 || (rc = gb_expr__arg_str(c, n, base, &inf, &inl)) < 0 ||
	    (rc = gb_expr__arg_str(c, n, base + 1, &outf, &outl)) < 0)
		return rc;
	if (!inf || !outf)
		return gb_expr__err(c, n, GB_EINVAL, "FormatDateTime: the %s format is null", inf ? "output" : "input");
	if (!s)
		return gb_expr__set_null(out);
	if (!parse_format(s, len, inf, inl, &d))
		return gb_expr__err(c, n, GB_EINVAL, "FormatDateTime: \"%.60s\" does not match the format \"%.60s\"", s,
		                    inf);
	if ((rc = format_dt(c, n, &d, outf, outl, &b)) < 0)
		return rc;
	return gb_expr__sb_done(c, n, &b, out);
}
