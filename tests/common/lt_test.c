/* lt_test.c - failure and skip reporting for tests/common/lt_test.h. */
#include "lt_test.h"

#include <stdarg.h>

void lt_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%d: FAIL: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(NULL);
	exit(1);
}

void lt_test_skip(const char *file, int line, const char *why)
{
	const char *ci = getenv("CI");
	if (ci && strcmp(ci, "true") == 0) {
		fprintf(stderr, "%s:%d: FAIL (a skip is a failure under CI=true): %s\n", file, line,
			why);
		exit(1);
	}
	fprintf(stderr, "%s:%d: SKIP: %s\n", file, line, why);
	exit(77);
}
