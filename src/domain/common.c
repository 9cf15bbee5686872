/* domain/common — money and time normalisation shared by all mappers.
 * Decimal arithmetic is done on digit strings: a double cannot hold 0.1
 * exactly, and amounts shown to customers must match the invoice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "domain/common.h"

#define DEC_DIGITS_MAX 64

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Splits "[-+]ddd[.ddd][(e|E)[-+]ddd]" into sign, digits and the power of
 * ten they are scaled by. -1 on anything else. */
static int dec_parse(const char *s, int *neg, char *digits, size_t *ndig, long *exp10)
{
	size_t n = 0;
	long frac = 0, e = 0;
	int seen = 0, eneg = 0;

	*neg = 0;
	if (*s == '-' || *s == '+')
		*neg = (*s++ == '-');
	for (; is_digit(*s); s++, seen = 1)
		if (n < DEC_DIGITS_MAX)
			digits[n++] = *s;
		else
			return -1;
	if (*s == '.') {
		for (s++; is_digit(*s); s++, seen = 1, frac++)
			if (n < DEC_DIGITS_MAX)
				digits[n++] = *s;
			else
				return -1;
	}
	if (!seen)
		return -1;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			eneg = (*s++ == '-');
		if (!is_digit(*s))
			return -1;
		for (; is_digit(*s); s++) {
			e = e * 10 + (*s - '0');
			if (e > 60)
				return -1;
		}
	}
	if (*s != '\0')
		return -1;
	*ndig = n;
	*exp10 = (eneg ? -e : e) - frac;
	return 0;
}

/* Adds one to the decimal digit string d (len n), growing it at the front. */
static size_t dec_increment(char *d, size_t n)
{
	for (size_t i = n; i-- > 0;) {
		if (d[i] != '9') {
			d[i]++;
			return n;
		}
		d[i] = '0';
	}
	memmove(d + 1, d, n);
	d[0] = '1';
	return n + 1;
}

int domain_decimal_norm(const char *in, int scale, char *out, size_t outsz)
{
	char dig[DEC_DIGITS_MAX + 1], work[2 * DEC_DIGITS_MAX + 8];
	size_t ndig, n = 0;
	long exp10;
	int neg;

	if (!in || !out || outsz == 0 || scale < 0 || scale > 10)
		return -1;
	out[0] = '\0';
	if (dec_parse(in, &neg, dig, &ndig, &exp10) != 0)
		return -1;
	/* work = integer of value * 10^scale, before rounding: digits shifted by
	 * exp10 + scale. */
	long shift = exp10 + scale;
	if (shift >= 0) {
		if (ndig + (size_t)shift > sizeof work - 2)
			return -1;
		memcpy(work, dig, ndig);
		memset(work + ndig, '0', (size_t)shift);
		n = ndig + (size_t)shift;
	} else {
		size_t drop = (size_t)-shift;
		int round_up = 0;
		if (drop <= ndig) {
			n = ndig - drop;
			memcpy(work, dig, n);
			round_up = dig[n] >= '5';
		}
		if (round_up)
			n = dec_increment(work, n);
	}
	/* Leading zeros off, then pad so there is one digit before the point. */
	size_t lead = 0;
	while (lead < n && work[lead] == '0')
		lead++;
	memmove(work, work + lead, n - lead);
	n -= lead;
	while (n < (size_t)scale + 1) {
		memmove(work + 1, work, n);
		work[0] = '0';
		n++;
	}
	int zero = 1;
	for (size_t i = 0; i < n; i++)
		if (work[i] != '0')
			zero = 0;
	size_t ip = n - (size_t)scale;
	int w = snprintf(out, outsz, "%s%.*s%s%.*s", (neg && !zero) ? "-" : "",
		(int)ip, work, scale ? "." : "", scale, work + ip);
	if (w < 0 || (size_t)w >= outsz) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

int domain_decimal_from_json(struct json_object *v, int scale, char *out, size_t outsz)
{
	if (out && outsz)
		out[0] = '\0';
	if (!v)
		return -1;
	switch (json_object_get_type(v)) {
	case json_type_int:
	case json_type_double:
	case json_type_string:
		/* For numbers json-c keeps the text as parsed ("5280.0"). */
		return domain_decimal_norm(json_object_get_string(v), scale, out, outsz);
	default:
		return -1;
	}
}

struct json_object *domain_money_json(const char *amount, const char *currency)
{
	char norm[DOMAIN_DECIMAL_MAX];
	struct json_object *o;

	if (domain_decimal_norm(amount, 2, norm, sizeof norm) != 0)
		return NULL;
	o = json_object_new_object();
	if (!o)
		return NULL;
	if (domain_json_add_str(o, "amount", norm) != 0 ||
	    domain_json_add_str(o, "currency",
		currency && *currency ? currency : DOMAIN_CURRENCY_DEFAULT) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Reads exactly n digits as an int. */
static int take_num(const char **s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!is_digit((*s)[i]))
			return -1;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : dm[m - 1];
}

static int parse_date(const char **s, struct tm *tm)
{
	int y, mo, d;
	if (take_num(s, 4, &y) || **s != '-' || (++*s, take_num(s, 2, &mo)) ||
	    **s != '-' || (++*s, take_num(s, 2, &d)))
		return -1;
	if (y < 1900 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
		return -1;
	tm->tm_year = y - 1900;
	tm->tm_mon = mo - 1;
	tm->tm_mday = d;
	return 0;
}

/* Zone suffix → offset seconds east of UTC. */
static int parse_zone(const char *s, long *off)
{
	int hh, mm, sign;

	*off = 0;
	if (*s == '\0' || (s[0] == 'Z' && s[1] == '\0'))
		return 0;
	if (*s != '+' && *s != '-')
		return -1;
	sign = *s++ == '-' ? -1 : 1;
	if (take_num(&s, 2, &hh))
		return -1;
	if (*s == ':')
		s++;
	if (take_num(&s, 2, &mm) || *s != '\0' || hh > 23 || mm > 59)
		return -1;
	*off = sign * (hh * 3600L + mm * 60L);
	return 0;
}

int domain_time_rfc3339(const char *in, char *out, size_t outsz)
{
	struct tm tm;
	int h, mi, se;
	long off;
	const char *s = in;

	if (!out || outsz < DOMAIN_TIME_MAX)
		return -1;
	out[0] = '\0';
	if (!in)
		return -1;
	memset(&tm, 0, sizeof tm);
	if (parse_date(&s, &tm) || (*s != 'T' && *s != ' '))
		return -1;
	s++;
	if (take_num(&s, 2, &h) || *s != ':' || (++s, take_num(&s, 2, &mi)) ||
	    *s != ':' || (++s, take_num(&s, 2, &se)))
		return -1;
	if (h > 23 || mi > 59 || se > 60)
		return -1;
	if (*s == '.') {
		s++;
		if (!is_digit(*s))
			return -1;
		for (int i = 0; is_digit(*s); s++)
			if (++i > 9)
				return -1;
	}
	if (parse_zone(s, &off))
		return -1;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	time_t t = timegm(&tm) - off;
	struct tm u;
	if (!gmtime_r(&t, &u) || u.tm_year + 1900 > 9999 || u.tm_year + 1900 < 1000)
		return -1;
	if (strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &u) == 0) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

int domain_date_norm(const char *in, char *out, size_t outsz)
{
	struct tm tm;
	const char *s = in;

	if (!out || outsz < DOMAIN_DATE_MAX)
		return -1;
	out[0] = '\0';
	if (!in || parse_date(&s, &tm) || *s != '\0')
		return -1;
	snprintf(out, outsz, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	return 0;
}

int domain_json_add_str(struct json_object *obj, const char *key, const char *val)
{
	struct json_object *v = NULL;

	if (val) {
		v = json_object_new_string(val);
		if (!v)
			return -1;
	}
	if (json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

int domain_json_add_time(struct json_object *obj, const char *key, const char *provider_time)
{
	char t[DOMAIN_TIME_MAX];

	if (provider_time && domain_time_rfc3339(provider_time, t, sizeof t) == 0)
		return domain_json_add_str(obj, key, t);
	return domain_json_add_str(obj, key, NULL);
}

int domain_json_add_money(struct json_object *obj, const char *key, const char *amount,
	const char *currency)
{
	struct json_object *m = amount ? domain_money_json(amount, currency) : NULL;

	if (json_object_object_add(obj, key, m) != 0) {
		json_object_put(m);
		return -1;
	}
	return 0;
}

int domain_json_str(struct json_object *rec, const char *key, char *out, size_t outsz,
	int allow_newlines)
{
	struct json_object *v = NULL;
	const char *s;
	size_t n;

	out[0] = '\0';
	if (!json_object_is_type(rec, json_type_object) ||
	    !json_object_object_get_ex(rec, key, &v) || !v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n >= outsz || !str_valid_text(s, n, allow_newlines))
		return -1;
	memcpy(out, s, n + 1);
	return 0;
}

int domain_json_rel_str(struct json_object *rec, const char *rel, const char *key,
	char *out, size_t outsz)
{
	struct json_object *r = NULL;

	out[0] = '\0';
	if (!json_object_is_type(rec, json_type_object) ||
	    !json_object_object_get_ex(rec, rel, &r) || !r)
		return 0;
	return domain_json_str(r, key, out, outsz, 0);
}

struct json_object *domain_json_array(const void *v, size_t n, size_t size,
	struct json_object *(*row)(const void *))
{
	struct json_object *a = json_object_new_array(), *o;
	size_t i;

	for (i = 0; a && i < n; i++) {
		if (!(o = row((const unsigned char *)v + i * size)))
			break;
		json_object_array_add(a, o);
	}
	return a;
}

int domain_sf_children(struct json_object *rec, const char *rel, struct json_object **out)
{
	struct json_object *sub = NULL, *recs = NULL;

	*out = NULL;
	if (!json_object_object_get_ex(rec, rel, &sub) || !sub)
		return 0;
	if (!json_object_object_get_ex(sub, "records", &recs) ||
	    !json_object_is_type(recs, json_type_array))
		return -1;
	*out = recs;
	return 0;
}
