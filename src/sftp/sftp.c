/* sftp — see sftp.h. */
#include "sftp/sftp.h"

#include <errno.h>
#include <fcntl.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"

struct sftp_conn {
	int sock;
	LIBSSH2_SESSION *session;
	LIBSSH2_SFTP *sftp;
	struct sftp_opts opts;
	char remote_dir[512];
};

static long opt_long(const struct pt_config *cfg, const char *key, long dflt)
{
	struct pt_err e = { 0 };
	long v = dflt;

	if (config_get(cfg, key) && config_get_long(cfg, key, &v, &e) != 0)
		return dflt;
	return v;
}

int sftp_opts_from_config(const struct pt_config *cfg, struct sftp_opts *o, struct pt_err *err)
{
	memset(o, 0, sizeof(*o));
	o->host = config_get(cfg, "SFTP_HOST");
	o->port = (int)opt_long(cfg, "SFTP_PORT", 22);
	o->username = config_get(cfg, "SFTP_USERNAME");
	o->private_key_path = config_get(cfg, "SFTP_PRIVATE_KEY_PATH");
	o->host_key_sha256 = config_get(cfg, "SFTP_HOST_KEY_SHA256");
	o->remote_dir = config_get(cfg, "SFTP_REMOTE_DIR");
	o->op_timeout_ms = opt_long(cfg, "SFTP_TIMEOUT", 30000);
	/* The set-up is bounded by the configured timeout too: a server that
	 * accepts and never speaks must not hold an import or a probe longer
	 * than SFTP_TIMEOUT says (it was a fixed 10 s). */
	o->connect_timeout_ms = o->op_timeout_ms;
	o->download_timeout_ms = 300000;
	o->max_file_bytes = opt_long(cfg, "SFTP_MAX_FILE_BYTES", SFTP_DEFAULT_MAX_FILE_BYTES);
	if (!o->host || !o->username || !o->private_key_path || !o->host_key_sha256)
		return pt_err_set(err, PT_CONFIG_INVALID,
			"SFTP_HOST/SFTP_USERNAME/SFTP_PRIVATE_KEY_PATH/SFTP_HOST_KEY_SHA256: missing");
	return 0;
}

void sftp_fingerprint_format(const unsigned char digest[32], char *out, size_t size)
{
	unsigned char b64[48];
	int n = EVP_EncodeBlock(b64, digest, 32);

	/* ssh-keygen prints it without the '=' padding. */
	while (n > 0 && b64[n - 1] == '=')
		n--;
	b64[n] = '\0';
	snprintf(out, size, "SHA256:%s", (const char *)b64);
}

int sftp_cdr_filename(enum domain_cdr_kind kind, int year, int month, char *out, size_t size)
{
	int n;

	if (year < 2000 || year > 9999 || month < 1 || month > 12)
		return -1;
	n = snprintf(out, size, "PASI_%s-detail-%04d%02d.csv",
		kind == DOMAIN_CDR_SMS ? "sms" : "talk", year, month);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Time left before deadline (ms since CLOCK_MONOTONIC's origin), at least 1
 * so a step that starts at the deadline still fails by timing out. */
static long left_ms(long long deadline)
{
	long long left = deadline - now_ms();

	return left < 1 ? 1 : (long)left;
}

/* Non-blocking connect bounded by deadline; returns a blocking socket. */
static int tcp_connect(const char *host, int port, long long deadline, struct pt_err *err)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	char portstr[8];
	int fd = -1, rc, timed_out = 0;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "sftp: resolve %s: %s", host, gai_strerror(rc));
		pt_err_provider(err, "EDNS");
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
		if (rc != 0 && errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			int pr = poll(&pfd, 1, (int)left_ms(deadline));
			timed_out |= pr == 0;
			rc = pr == 1 &&
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0 ? 0 : -1;
		}
		if (rc == 0) {
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
			break;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "sftp: cannot connect to %s:%d%s", host, port,
			timed_out ? " (timeout)" : "");
		pt_err_provider(err, timed_out ? "ETIMEOUT" : "ECONNREFUSED");
	}
	return fd;
}

static int ssh_fail(struct sftp_conn *c, const char *what, struct pt_err *err)
{
	char *msg = NULL;
	int code = libssh2_session_last_error(c->session, &msg, NULL, 0);

	pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "sftp %s: %s", what, msg ? msg : "error");
	pt_err_provider(err, code == LIBSSH2_ERROR_TIMEOUT ? "ETIMEOUT" : "ESSH");
	return -1;
}

static int check_host_key(struct sftp_conn *c, struct pt_err *err)
{
	const char *hash = libssh2_hostkey_hash(c->session, LIBSSH2_HOSTKEY_HASH_SHA256);
	char got[64];
	const char *want = c->opts.host_key_sha256;

	if (!hash)
		return ssh_fail(c, "host key hash", err);
	sftp_fingerprint_format((const unsigned char *)hash, got, sizeof(got));
	if (strlen(want) == strlen(got) && str_ct_equal(want, got, strlen(got)))
		return 0;
	log_crit("sftp host key mismatch", "system", "sftp", "host", c->opts.host,
		"expected", want, "got", got);
	pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "sftp host key mismatch: expected %s got %s",
		want, got);
	pt_err_provider(err, "EHOSTKEY");
	return -1;
}

struct sftp_conn *sftp_connect(const struct sftp_opts *opts, struct pt_err *err)
{
	struct sftp_conn *c;

	if (!opts || !opts->host || !opts->username || !opts->private_key_path ||
	    !opts->host_key_sha256 || strncmp(opts->host_key_sha256, "SHA256:", 7) != 0) {
		pt_err_set(err, PT_CONFIG_INVALID, "SFTP_HOST_KEY_SHA256: missing or not SHA256:…");
		return NULL;
	}
	if (libssh2_init(0) != 0) {
		pt_err_set(err, PT_INTERNAL, "libssh2_init failed");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		libssh2_exit();
		pt_err_set(err, PT_INTERNAL, "out of memory");
		return NULL;
	}
	c->opts = *opts;
	if (c->opts.port <= 0)
		c->opts.port = 22;
	if (c->opts.connect_timeout_ms <= 0)
		c->opts.connect_timeout_ms = 10000;
	if (c->opts.op_timeout_ms <= 0)
		c->opts.op_timeout_ms = 30000;
	if (c->opts.download_timeout_ms <= 0)
		c->opts.download_timeout_ms = 300000;
	if (c->opts.max_file_bytes <= 0)
		c->opts.max_file_bytes = SFTP_DEFAULT_MAX_FILE_BYTES;
	str_lcpy(c->remote_dir, opts->remote_dir && *opts->remote_dir ? opts->remote_dir : ".",
		sizeof(c->remote_dir));
	/* One deadline for the whole set-up (TCP connect, handshake, host key,
	 * authentication, SFTP channel): each blocking libssh2 call is bounded
	 * by what is left of it, so the steps together never exceed it. */
	long long deadline = now_ms() + c->opts.connect_timeout_ms;
	c->sock = tcp_connect(c->opts.host, c->opts.port, deadline, err);
	if (c->sock < 0)
		goto fail;
	c->session = libssh2_session_init();
	if (!c->session) {
		pt_err_set(err, PT_INTERNAL, "libssh2_session_init failed");
		goto fail;
	}
	libssh2_session_set_blocking(c->session, 1);
	/* Bounds every blocking libssh2 call, so nothing hangs past it. */
	libssh2_session_set_timeout(c->session, left_ms(deadline));
	if (libssh2_session_handshake(c->session, c->sock) != 0) {
		ssh_fail(c, "handshake", err);
		goto fail;
	}
	if (check_host_key(c, err) != 0)
		goto fail;
	libssh2_session_set_timeout(c->session, left_ms(deadline));
	if (libssh2_userauth_publickey_fromfile_ex(c->session, c->opts.username,
		(unsigned int)strlen(c->opts.username), NULL, c->opts.private_key_path, NULL) != 0) {
		ssh_fail(c, "public key authentication", err);
		goto fail;
	}
	libssh2_session_set_timeout(c->session, left_ms(deadline));
	c->sftp = libssh2_sftp_init(c->session);
	if (!c->sftp) {
		ssh_fail(c, "subsystem", err);
		goto fail;
	}
	libssh2_session_set_timeout(c->session, c->opts.op_timeout_ms);
	return c;
fail:
	sftp_close(c);
	return NULL;
}

void sftp_close(struct sftp_conn *c)
{
	if (!c)
		return;
	if (c->sftp)
		libssh2_sftp_shutdown(c->sftp);
	if (c->session) {
		/* Short bound: a dead peer must not hold up the close. */
		libssh2_session_set_timeout(c->session, 2000);
		libssh2_session_disconnect(c->session, "bye");
		libssh2_session_free(c->session);
	}
	if (c->sock >= 0)
		close(c->sock);
	free(c);
	libssh2_exit();
}

static int remote_path(const struct sftp_conn *c, const char *name, char *out, size_t size)
{
	int n;

	/* Only plain file names: no traversal out of the configured directory. */
	if (!name || !*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return -1;
	n = snprintf(out, size, "%s/%s", c->remote_dir, name);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

static int sftp_fail(struct sftp_conn *c, const char *what, const char *name, struct pt_err *err)
{
	unsigned long fx = libssh2_sftp_last_error(c->sftp);

	if (fx == LIBSSH2_FX_NO_SUCH_FILE || fx == LIBSSH2_FX_NO_SUCH_PATH) {
		pt_err_set(err, PT_NOT_FOUND, "sftp %s %s: no such file", what, name);
		pt_err_provider(err, "ENOENT");
		return -1;
	}
	return ssh_fail(c, what, err);
}

int sftp_stat(struct sftp_conn *c, const char *name, struct sftp_file_info *info, struct pt_err *err)
{
	LIBSSH2_SFTP_ATTRIBUTES a;
	char path[1024];

	if (remote_path(c, name, path, sizeof(path)) != 0)
		return pt_err_set(err, PT_INTERNAL, "sftp: bad file name");
	if (libssh2_sftp_stat_ex(c->sftp, path, (unsigned int)strlen(path), LIBSSH2_SFTP_STAT, &a) != 0)
		return sftp_fail(c, "stat", name, err);
	info->size = (a.flags & LIBSSH2_SFTP_ATTR_SIZE) ? (long long)a.filesize : -1;
	info->mtime = (a.flags & LIBSSH2_SFTP_ATTR_ACMODTIME) ? (time_t)a.mtime : 0;
	return 0;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000L + (t1.tv_nsec - t0->tv_nsec) / 1000000L;
}

static int too_big(struct sftp_conn *c, const char *name, long long size, struct pt_err *err)
{
	char sz[24];

	log_error("sftp file over size cap", "system", "sftp", "file", name,
		"size", log_itoa((long)size, sz));
	pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "sftp %s: %lld bytes over cap %ld", name, size,
		c->opts.max_file_bytes);
	pt_err_provider(err, "ETOOBIG");
	return -1;
}

int sftp_download(struct sftp_conn *c, const char *name,
	int (*sink)(void *ctx, const char *data, size_t len, struct pt_err *err), void *ctx,
	struct sftp_file_info *info, struct pt_err *err)
{
	LIBSSH2_SFTP_HANDLE *h = NULL;
	LIBSSH2_SFTP_ATTRIBUTES a;
	struct timespec t0;
	char path[1024], chunk[32768];
	long long total = 0;
	ssize_t n;
	int rc = -1;

	if (remote_path(c, name, path, sizeof(path)) != 0)
		return pt_err_set(err, PT_INTERNAL, "sftp: bad file name");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	h = libssh2_sftp_open_ex(c->sftp, path, (unsigned int)strlen(path), LIBSSH2_FXF_READ, 0,
		LIBSSH2_SFTP_OPENFILE);
	if (!h)
		return sftp_fail(c, "open", name, err);
	if (libssh2_sftp_fstat_ex(h, &a, 0) != 0) {
		sftp_fail(c, "fstat", name, err);
		goto out;
	}
	if (info) {
		info->size = (a.flags & LIBSSH2_SFTP_ATTR_SIZE) ? (long long)a.filesize : -1;
		info->mtime = (a.flags & LIBSSH2_SFTP_ATTR_ACMODTIME) ? (time_t)a.mtime : 0;
	}
	if ((a.flags & LIBSSH2_SFTP_ATTR_SIZE) && (long long)a.filesize > c->opts.max_file_bytes) {
		too_big(c, name, (long long)a.filesize, err);
		goto out;
	}
	while ((n = libssh2_sftp_read(h, chunk, sizeof(chunk))) > 0) {
		total += n;
		/* The file may grow while we read: the cap holds anyway. */
		if (total > c->opts.max_file_bytes) {
			too_big(c, name, total, err);
			goto out;
		}
		if (ms_since(&t0) > c->opts.download_timeout_ms) {
			pt_err_set(err, PT_UPSTREAM_UNAVAILABLE, "sftp %s: download timeout", name);
			pt_err_provider(err, "ETIMEOUT");
			goto out;
		}
		if (sink && sink(ctx, chunk, (size_t)n, err) != 0)
			goto out;
	}
	if (n < 0) {
		ssh_fail(c, "read", err);
		goto out;
	}
	rc = 0;
out:
	libssh2_sftp_close_handle(h);
	return rc;
}

int sftp_probe_dir(struct sftp_conn *c, long *entries, struct pt_err *err)
{
	LIBSSH2_SFTP_HANDLE *d;
	LIBSSH2_SFTP_ATTRIBUTES a;
	char name[512];
	long count = 0;
	int n;

	d = libssh2_sftp_open_ex(c->sftp, c->remote_dir, (unsigned int)strlen(c->remote_dir), 0, 0,
		LIBSSH2_SFTP_OPENDIR);
	if (!d)
		return sftp_fail(c, "opendir", c->remote_dir, err);
	while ((n = libssh2_sftp_readdir_ex(d, name, sizeof(name), NULL, 0, &a)) > 0 && count < 100000)
		count++;
	libssh2_sftp_close_handle(d);
	if (n < 0)
		return ssh_fail(c, "readdir", err);
	if (entries)
		*entries = count;
	return 0;
}
