/* simctl_client — the simulators' control API (contracts/simulators.md) for
 * the C integration tests: reset, faults, and counting logged calls, so a
 * test can prove how many times a request really reached the provider. */
#ifndef PT_TESTS_SIMCTL_CLIENT_H
#define PT_TESTS_SIMCTL_CLIENT_H

/* POST base+path with a JSON body (NULL = none); returns the HTTP status or -1. */
int simctl_post(const char *base, const char *path, const char *json);
/* DELETE base+path; HTTP status or -1. */
int simctl_delete(const char *base, const char *path);
/* Number of /__sim/calls entries whose action equals `action`; -1 on error. */
int simctl_count_calls(const char *base, const char *action);
/* Adds one fault: match, HTTP status (0 = none), delay_ms, count, drop. */
int simctl_fault(const char *base, const char *match, int status, long delay_ms, int count, int drop);

#endif
