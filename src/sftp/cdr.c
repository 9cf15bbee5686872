/* sftp/cdr — see cdr.h. */
#include "sftp/cdr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"

#define MAX_FIELDS 6

struct cdr_parser {
	enum domain_cdr_kind kind;
	int year, month;
	struct cdr_callbacks cb;
	void *ctx;
	char line[CDR_MAX_LINE + 2];   /* + a CR, + NUL */
	size_t len;
	int too_long;                  /* discarding up to the next LF */
	int at_start;                  /* BOM check pending */
	size_t bom_seen;               /* BOM bytes matched so far */
	int header_ok;
	int failed;
	struct cdr_stats st;
};

static const char *const headers[] = {
	"msisdn,started_at,called_number,duration_sec,call_type,charge_jpy",
	"msisdn,sent_at,destination,sms_type,charge_jpy",
};

const char *cdr_header(enum domain_cdr_kind kind)
{
	return headers[kind == DOMAIN_CDR_SMS];
}

struct cdr_parser *cdr_parser_new(enum domain_cdr_kind kind, int year, int month,
	const struct cdr_callbacks *cb, void *ctx)
{
	struct cdr_parser *p;

	if (month < 1 || month > 12 || year < 2000 || year > 9999)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->kind = kind == DOMAIN_CDR_SMS ? DOMAIN_CDR_SMS : DOMAIN_CDR_CALLS;
	p->year = year;
	p->month = month;
	if (cb)
		p->cb = *cb;
	p->ctx = ctx;
	p->at_start = 1;
	return p;
}

void cdr_parser_free(struct cdr_parser *p)
{
	free(p);
}

/* --- fields ------------------------------------------------------------ */

/* Splits one line in place into fields; NULL on success, else the reason. */
static const char *split(char *s, size_t len, char **f, size_t *nf)
{
	size_t i = 0, n = 0;

	for (;;) {
		char *out;
		if (n == MAX_FIELDS)
			return "field count";
		f[n++] = out = s + i;
		if (i < len && s[i] == '"') {
			i++;
			for (;;) {
				if (i >= len)
					return "unclosed quote";
				if (s[i] == '"') {
					if (i + 1 < len && s[i + 1] == '"') {
						*out++ = '"';
						i += 2;
						continue;
					}
					i++;
					break;
				}
				*out++ = s[i++];
			}
			if (i < len && s[i] != ',')
				return "text after closing quote";
		} else {
			while (i < len && s[i] != ',') {
				if (s[i] == '"')
					return "quote inside unquoted field";
				*out++ = s[i++];
			}
		}
		if (i >= len) {
			*out = '\0';
			break;
		}
		*out = '\0';   /* overwrites the ',' or an earlier byte */
		i++;           /* skip ',' */
	}
	*nf = n;
	return NULL;
}

static int is_digits(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	return n >= min && n <= max && strspn(s, "0123456789") == n;
}

static int int_in(const char *s, long max, long *out)
{
	if (!is_digits(s, 1, 7))
		return 0;
	*out = strtol(s, NULL, 10);
	return *out <= max;
}

static int days_in(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : d[m - 1];
}

static int two(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* Exactly YYYY-MM-DDThh:mm:ss+09:00 inside the file's month → RFC 3339 UTC. */
static int jst_time(const struct cdr_parser *p, const char *s, char *out, size_t size)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd+09:00";
	int y, mo, d;
	size_t i;

	if (strlen(s) != sizeof(shape) - 1)
		return 0;
	for (i = 0; shape[i]; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return 0;
	}
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + two(s + 2);
	mo = two(s + 5);
	d = two(s + 8);
	if (y != p->year || mo != p->month || d < 1 || d > days_in(y, mo) ||
	    two(s + 11) > 23 || two(s + 14) > 59 || two(s + 17) > 59)
		return 0;
	return domain_time_rfc3339(s, out, size) == 0;
}

static int number_ok(const char *s)
{
	size_t n = strlen(s), k = s[0] == '+';

	return n - k >= 1 && n - k <= 32 && strspn(s + k, "0123456789*#") == n - k;
}

static int type_of(const char *s, int *intl)
{
	if (!strcmp(s, "domestic"))
		*intl = 0;
	else if (!strcmp(s, "international"))
		*intl = 1;
	else
		return 0;
	return 1;
}

static const char *call_row(struct cdr_parser *p, char **f, size_t nf, struct pt_err *err,
	int *stop)
{
	struct domain_call_record r;

	memset(&r, 0, sizeof(r));
	if (nf != 6)
		return "field count";
	if (!is_digits(f[0], 11, 11) || f[0][0] != '0')
		return "msisdn";
	if (!jst_time(p, f[1], r.started_at, sizeof(r.started_at)))
		return "started_at";
	if (!number_ok(f[2]))
		return "called_number";
	if (!int_in(f[3], 86400, &r.duration_sec))
		return "duration_sec";
	if (!type_of(f[4], &r.international))
		return "call_type";
	if (!int_in(f[5], 9999999, &r.charge_jpy))
		return "charge_jpy";
	memcpy(r.msisdn, f[0], 12);
	str_lcpy(r.called_number, f[2], sizeof(r.called_number));
	p->st.rows++;
	if (p->cb.on_call && p->cb.on_call(p->ctx, &r, err) != 0)
		*stop = 1;
	return NULL;
}

static const char *sms_row(struct cdr_parser *p, char **f, size_t nf, struct pt_err *err,
	int *stop)
{
	struct domain_sms_record r;

	memset(&r, 0, sizeof(r));
	if (nf != 5)
		return "field count";
	if (!is_digits(f[0], 11, 11) || f[0][0] != '0')
		return "msisdn";
	if (!jst_time(p, f[1], r.sent_at, sizeof(r.sent_at)))
		return "sent_at";
	if (!number_ok(f[2]))
		return "destination";
	if (!type_of(f[3], &r.international))
		return "sms_type";
	if (!int_in(f[4], 9999999, &r.charge_jpy))
		return "charge_jpy";
	memcpy(r.msisdn, f[0], 12);
	str_lcpy(r.destination, f[2], sizeof(r.destination));
	p->st.rows++;
	if (p->cb.on_sms && p->cb.on_sms(p->ctx, &r, err) != 0)
		*stop = 1;
	return NULL;
}

/* --- lines ------------------------------------------------------------- */

static void bad_line(struct cdr_parser *p, const char *reason)
{
	char ln[24];

	p->st.bad_lines++;
	/* Line number and reason only: the content may identify a person. */
	if (p->st.bad_lines <= CDR_LOGGED_BAD_LINES)
		log_warn("cdr bad line", "kind", p->kind == DOMAIN_CDR_SMS ? "sms" : "calls",
			"line", log_itoa(p->st.lines, ln), "reason", reason);
}

static int header_line(struct cdr_parser *p, const char *s, struct pt_err *err)
{
	if (strcmp(s, cdr_header(p->kind)) != 0) {
		p->failed = 1;
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "cdr %s file: header mismatch",
			p->kind == DOMAIN_CDR_SMS ? "sms" : "calls");
		pt_err_provider(err, "EBADHEADER");
		log_error("cdr file rejected", "kind", p->kind == DOMAIN_CDR_SMS ? "sms" : "calls",
			"reason", "header mismatch");
		return -1;
	}
	p->header_ok = 1;
	return 0;
}

/* One complete physical line (LF removed). */
static int end_line(struct cdr_parser *p, struct pt_err *err)
{
	char *f[MAX_FIELDS];
	size_t nf = 0, len = p->len;
	const char *why;
	int stop = 0, too_long = p->too_long;

	p->len = 0;
	p->too_long = 0;
	p->st.lines++;
	if (too_long) {
		bad_line(p, "too long");
		return 0;
	}
	if (len && p->line[len - 1] == '\r')
		len--;
	if (len > CDR_MAX_LINE) {
		bad_line(p, "too long");
		return 0;
	}
	p->line[len] = '\0';
	if (len == 0)
		return 0;   /* blank lines are ignored */
	if (!str_valid_text(p->line, len, 0)) {
		if (!p->header_ok)
			return header_line(p, "", err);
		bad_line(p, "invalid UTF-8 or control byte");
		return 0;
	}
	if (!p->header_ok)
		return header_line(p, p->line, err);
	why = split(p->line, len, f, &nf);
	if (!why)
		why = p->kind == DOMAIN_CDR_SMS ? sms_row(p, f, nf, err, &stop) :
			call_row(p, f, nf, err, &stop);
	if (why)
		bad_line(p, why);
	if (stop) {
		p->failed = 1;
		return -1;
	}
	return 0;
}

int cdr_parser_feed(struct cdr_parser *p, const char *data, size_t len, struct pt_err *err)
{
	static const unsigned char bom[3] = { 0xEF, 0xBB, 0xBF };
	size_t i;

	if (p->failed)
		return pt_err_set(err, PT_INTERNAL, "cdr parser already failed");
	for (i = 0; i < len; i++) {
		char ch = data[i];
		if (p->at_start) {
			/* The BOM may arrive split across chunks. */
			if ((unsigned char)ch == bom[p->bom_seen]) {
				if (++p->bom_seen == 3)
					p->at_start = 0;
				continue;
			}
			p->at_start = 0;
			if (p->bom_seen) {
				memcpy(p->line, bom, p->bom_seen);
				p->len = p->bom_seen;
			}
		}
		if (ch == '\n') {
			if (end_line(p, err) != 0)
				return -1;
			continue;
		}
		if (p->too_long)
			continue;
		if (p->len >= CDR_MAX_LINE + 1) {
			/* Room for 1024 bytes + CR; anything longer is dropped. */
			p->too_long = 1;
			continue;
		}
		p->line[p->len++] = ch;
	}
	return 0;
}

int cdr_parser_finish(struct cdr_parser *p, struct cdr_stats *stats, struct pt_err *err)
{
	if (p->failed)
		return pt_err_set(err, PT_INTERNAL, "cdr parser already failed");
	if (p->at_start && p->bom_seen) {
		memcpy(p->line, "\xEF\xBB\xBF", p->bom_seen);
		p->len = p->bom_seen;
	}
	if ((p->len || p->too_long) && end_line(p, err) != 0)
		return -1;
	if (!p->header_ok) {
		p->failed = 1;
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "cdr file: empty (no header)");
		pt_err_provider(err, "EBADHEADER");
		return -1;
	}
	if (p->st.rows == 0)
		log_error("cdr file has no good row", "kind",
			p->kind == DOMAIN_CDR_SMS ? "sms" : "calls");
	if (stats)
		*stats = p->st;
	return 0;
}
