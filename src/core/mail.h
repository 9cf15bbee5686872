/* mail — one plain-text message through an SMTP relay with libcurl
 * (SMTP_URL, MAIL_FROM). Headers are built here from checked values, so no
 * caller text can inject a header; the body is dot-stuffed by libcurl. */
#ifndef PT_CORE_MAIL_H
#define PT_CORE_MAIL_H
#include <stddef.h>
#include "core/buf.h"
#include "core/err.h"

struct mail_msg {
	const char *from;      /* MAIL_FROM: "Name <addr>" or "addr" */
	const char *to;        /* one address */
	const char *subject;   /* one line of text */
	const char *body;      /* text, LF line ends */
};
/* The address inside "Name <addr>" (or the whole value) into out; -1 when
 * it is not one plain address. */
int mail_addr(const char *from, char *out, size_t outsz);
/* The RFC 5322 message (CRLF line ends) into out; -1 on CR/LF in a header. */
int mail_render(const struct mail_msg *m, const char *message_id_domain, struct buf *out);
/* Sends m through smtp_url within timeout_ms. -1 + PT_UPSTREAM_UNAVAILABLE
 * (relay down or refused) or PT_CONFIG_INVALID (bad from/to). */
int mail_send(const char *smtp_url, const struct mail_msg *m, long timeout_ms,
	struct pt_err *err);
#endif
