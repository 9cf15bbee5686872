/* mail — SMTP submission with libcurl; see mail.h. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

#include "core/mail.h"
#include "core/rand.h"

int mail_addr(const char *from, char *out, size_t outsz)
{
	const char *lt = strchr(from, '<'), *gt;
	size_t n;

	if (lt) {
		gt = strchr(lt, '>');
		if (!gt)
			return -1;
		from = lt + 1;
		n = (size_t)(gt - from);
	} else {
		n = strlen(from);
	}
	if (n < 3 || n >= outsz || !memchr(from, '@', n))
		return -1;
	memcpy(out, from, n);
	out[n] = '\0';
	return strpbrk(out, " \t\r\n<>\"") ? -1 : 0;
}

static int header_ok(const char *s)
{
	return s && !strpbrk(s, "\r\n");
}

int mail_render(const struct mail_msg *m, const char *domain, struct buf *out)
{
	char date[64], id[37];
	time_t now = time(NULL);
	struct tm tm;

	if (!header_ok(m->from) || !header_ok(m->to) || !header_ok(m->subject) || !m->body)
		return -1;
	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (rand_uuid(id) != 0)
		return -1;
	buf_printf(out, "Date: %s\r\nFrom: %s\r\nTo: <%s>\r\nSubject: %s\r\n"
		"Message-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
		date, m->from, m->to, m->subject, id, domain);
	for (const char *p = m->body; *p; p++)
		if (*p == '\n')
			buf_puts(out, "\r\n");
		else if (buf_putc(out, *p) != 0)
			return -1;
	return buf_puts(out, "\r\n");
}

struct reader {
	const char *p;
	size_t left;
};

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct reader *r = arg;
	size_t n = size * nmemb < r->left ? size * nmemb : r->left;

	memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
	return n;
}

int mail_send(const char *smtp_url, const struct mail_msg *m, long timeout_ms,
	struct pt_err *err)
{
	char from[256], to[256];
	struct curl_slist *rcpt = NULL;
	struct buf msg;
	struct reader rd;
	CURLcode rc;
	CURL *c = NULL;
	int ret = -1;

	buf_init(&msg, 1024 * 1024);
	if (!smtp_url || !*smtp_url || mail_addr(m->from, from, sizeof from) != 0 ||
	    mail_addr(m->to, to, sizeof to) != 0 ||
	    mail_render(m, strchr(from, '@') + 1, &msg) != 0) {
		pt_err_set(err, PT_CONFIG_INVALID, "mail: bad SMTP_URL, MAIL_FROM or recipient");
		goto out;
	}
	if (!(c = curl_easy_init()) || !(rcpt = curl_slist_append(NULL, to))) {
		pt_err_set(err, PT_INTERNAL, "mail: out of memory");
		goto out;
	}
	rd.p = buf_cstr(&msg);
	rd.left = msg.len;
	curl_easy_setopt(c, CURLOPT_URL, smtp_url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &rd);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 3000 ? timeout_ms : 3000L);
	/* A relay that offers STARTTLS gets it; plain only where none is offered (local sink). */
	curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "mail: %s", curl_easy_strerror(rc));
		pt_err_provider(err, "SMTP");
		goto out;
	}
	ret = 0;
out:
	curl_slist_free_all(rcpt);
	if (c)
		curl_easy_cleanup(c);
	buf_free(&msg);
	return ret;
}
