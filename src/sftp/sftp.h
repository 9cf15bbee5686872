/* sftp — fetches the monthly call/SMS detail files from Freebit's SFTP
 * server (freebit.md §7) with libssh2: the host key is pinned by its SHA-256
 * fingerprint before any authentication, only public-key authentication is
 * used, every step is bounded by a timeout, and a download streams to a
 * callback with a size cap so a huge file is refused, never buffered. */
#ifndef PT_SFTP_SFTP_H
#define PT_SFTP_SFTP_H

#include <stddef.h>
#include <time.h>
#include "core/config.h"
#include "core/err.h"
#include "domain/cdr.h"

#define SFTP_DEFAULT_MAX_FILE_BYTES (256L * 1024 * 1024)

struct sftp_opts {
	const char *host;
	int port;                      /* 22 */
	const char *username;
	const char *private_key_path;  /* 0600, unencrypted */
	const char *host_key_sha256;   /* "SHA256:" + 43 base64 chars, as ssh-keygen -l prints */
	const char *remote_dir;        /* "." */
	long connect_timeout_ms;       /* whole set-up: connect, handshake, auth; 10000 */
	long op_timeout_ms;            /* 30000 */
	long download_timeout_ms;      /* 300000 */
	long max_file_bytes;           /* 256 MiB */
};

struct sftp_conn;

/* Reads SFTP_HOST, SFTP_PORT, SFTP_USERNAME, SFTP_PRIVATE_KEY_PATH,
 * SFTP_HOST_KEY_SHA256, SFTP_REMOTE_DIR, SFTP_TIMEOUT (set-up and each
 * operation), SFTP_MAX_FILE_BYTES into opts (strings point into cfg). */
int sftp_opts_from_config(const struct pt_config *cfg, struct sftp_opts *opts, struct pt_err *err);

/* TCP connect, SSH handshake, host key check, key auth, SFTP channel, all
 * within connect_timeout_ms together (else PT_UPSTREAM_UNAVAILABLE with
 * provider_code "ETIMEOUT"; "ECONNREFUSED" when TCP was refused).
 * Host key mismatch: PT_UPSTREAM_UNAVAILABLE, provider_code "EHOSTKEY",
 * detail "expected SHA256:… got SHA256:…", CRIT log "sftp host key mismatch". */
struct sftp_conn *sftp_connect(const struct sftp_opts *opts, struct pt_err *err);
void sftp_close(struct sftp_conn *c);

struct sftp_file_info {
	long long size;
	time_t mtime;
};

/* name relative to remote_dir. Missing file: PT_NOT_FOUND. */
int sftp_stat(struct sftp_conn *c, const char *name, struct sftp_file_info *info, struct pt_err *err);

/* Streams the file to sink in chunks; over max_file_bytes → PT_UPSTREAM_UNAVAILABLE
 * "ETOOBIG" (checked from the size before reading and while reading). */
int sftp_download(struct sftp_conn *c, const char *name,
	int (*sink)(void *ctx, const char *data, size_t len, struct pt_err *err), void *ctx,
	struct sftp_file_info *info, struct pt_err *err);

/* Lists remote_dir (the hourly probe's opendir); *entries = entries seen. */
int sftp_probe_dir(struct sftp_conn *c, long *entries, struct pt_err *err);

/* "PASI_talk-detail-YYYYMM.csv" / "PASI_sms-detail-YYYYMM.csv". */
int sftp_cdr_filename(enum domain_cdr_kind kind, int year, int month, char *out, size_t size);

/* "SHA256:<unpadded base64>" of a 32-byte digest into out (≥ 51 bytes). */
void sftp_fingerprint_format(const unsigned char digest[32], char *out, size_t size);

#endif
