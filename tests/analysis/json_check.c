/*
 * json_check.c - a strict JSON syntax checker used to validate every report the tests write.
 */
#include "json_check.h"

#include <string.h>

struct jp {
	const unsigned char *p, *end;
	int err;
};

static void ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r'))
		j->p++;
}

static int lit(struct jp *j, const char *s)
{
	size_t n = strlen(s);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, s, n) != 0)
		return -1;
	j->p += n;
	return 0;
}

static int str(struct jp *j)
{
	if (j->p >= j->end || *j->p != '"')
		return -1;
	j->p++;
	while (j->p < j->end) {
		unsigned char c = *j->p;
		if (c == '"') {
			j->p++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			j->p++;
			if (j->p >= j->end)
				return -1;
			c = *j->p;
			if (c == 'u') {
				for (int i = 1; i <= 4; i++) {
					if (j->p + i >= j->end)
						return -1;
					unsigned char h = j->p[i];
					if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
					      (h >= 'A' && h <= 'F')))
						return -1;
				}
				j->p += 5;
				continue;
			}
			if (!strchr("\"\\/bfnrt", c))
				return -1;
			j->p++;
			continue;
		}
		if (c < 0x80) {
			j->p++;
			continue;
		}
		int n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
		if (n == 0 || j->end - j->p < n)
			return -1;
		for (int i = 1; i < n; i++)
			if ((j->p[i] & 0xC0) != 0x80)
				return -1;
		j->p += n;
	}
	return -1;
}

static int num(struct jp *j)
{
	const unsigned char *s = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end)
		return -1;
	if (*j->p == '0')
		j->p++;
	else if (*j->p >= '1' && *j->p <= '9')
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	else
		return -1;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return -1;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return -1;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	return j->p > s ? 0 : -1;
}

static int value(struct jp *j, int depth);

static int composite(struct jp *j, int depth, char open, char close, int obj)
{
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return 0;
	}
	for (;;) {
		ws(j);
		if (obj) {
			if (str(j))
				return -1;
			ws(j);
			if (j->p >= j->end || *j->p != ':')
				return -1;
			j->p++;
		}
		if (value(j, depth + 1))
			return -1;
		ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return 0;
		}
		(void)open;
		return -1;
	}
}

static int value(struct jp *j, int depth)
{
	if (depth > 64)
		return -1;
	ws(j);
	if (j->p >= j->end)
		return -1;
	switch (*j->p) {
	case '{':
		return composite(j, depth, '{', '}', 1);
	case '[':
		return composite(j, depth, '[', ']', 0);
	case '"':
		return str(j);
	case 't':
		return lit(j, "true");
	case 'f':
		return lit(j, "false");
	case 'n':
		return lit(j, "null");
	default:
		return num(j);
	}
}

size_t json_check(const char *buf, size_t len)
{
	struct jp j = {(const unsigned char *)buf, (const unsigned char *)buf + len, 0};
	if (value(&j, 0))
		return (size_t)(j.p - (const unsigned char *)buf) + 1;
	ws(&j);
	if (j.p != j.end)
		return (size_t)(j.p - (const unsigned char *)buf) + 1;
	return 0;
}
