/* fcgi-hello — the FastCGI peer of tests/bench/run: the least a libfcgi
 * program can do per request (accept, answer HELLO_BYTES bytes of JSON-ish
 * text, finish), spawned by spawn-fcgi with as many processes as a portal app
 * and put behind the same nginx. What it reaches is the ceiling of any
 * FastCGI app on this machine; the portal's routes are read against it in
 * docs/performance.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcgiapp.h>

#define HELLO_MAX 65536

int main(void)
{
	static char body[HELLO_MAX];
	const char *env = getenv("HELLO_BYTES");
	long n = env ? strtol(env, NULL, 10) : 704;
	FCGX_Request r;

	if (n < 2 || n > HELLO_MAX)
		n = 704;
	memset(body, 'x', (size_t)n);
	body[0] = '"';
	body[n - 1] = '"';
	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&r) >= 0) {
		FCGX_FPrintF(r.out, "Status: 200 OK\r\nContent-Type: application/json\r\n"
			"Content-Length: %ld\r\n\r\n", n);
		FCGX_PutStr(body, (int)n, r.out);
		FCGX_Finish_r(&r);
	}
	return 0;
}
