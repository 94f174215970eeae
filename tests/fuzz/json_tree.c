/*
 * json_tree.c - see json_tree.h. Recursive descent with a depth limit (the report nests a
 * handful of levels; a deep input is rejected rather than overflowing the stack).
 */
#include "json_tree.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

struct parser {
	const unsigned char *p, *end, *start;
	int failed;
	size_t err_off;
};

static void fail(struct parser *ps)
{
	if (!ps->failed) {
		ps->failed = 1;
		ps->err_off = (size_t)(ps->p - ps->start);
	}
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static struct jt_node *new_node(struct parser *ps, enum jt_type t)
{
	struct jt_node *n = calloc(1, sizeof(*n));

	if (!n)
		fail(ps);
	else
		n->type = t;
	return n;
}

/* utf8_len - length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2, cp = c & 0x1F;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, cp = c & 0x0F;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

static int hex4(struct parser *ps, uint32_t *out)
{
	uint32_t v = 0;

	if (ps->end - ps->p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		unsigned c = ps->p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	ps->p += 4;
	*out = v;
	return 0;
}

static void put_utf8(char *out, size_t *n, uint32_t cp)
{
	if (cp < 0x80) {
		out[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*n)++] = (char)(0xC0 | (cp >> 6));
		out[(*n)++] = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		out[(*n)++] = (char)(0xE0 | (cp >> 12));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[(*n)++] = (char)(0x80 | (cp & 0x3F));
	} else {
		out[(*n)++] = (char)(0xF0 | (cp >> 18));
		out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[(*n)++] = (char)(0x80 | (cp & 0x3F));
	}
}

/* parse_string - at the opening quote; a malloc'd decoded copy in *out / *len. */
static int parse_string(struct parser *ps, char **out, size_t *len)
{
	const unsigned char *q;
	char *buf;
	size_t n = 0;

	if (ps->p >= ps->end || *ps->p != '"')
		return fail(ps), -1;
	ps->p++;
	/* The decoded text is never longer than the encoded one. */
	for (q = ps->p; q < ps->end && *q != '"'; q++)
		if (*q == '\\' && q + 1 < ps->end)
			q++;
	buf = malloc((size_t)(q - ps->p) + 1);
	if (!buf)
		return fail(ps), -1;
	while (ps->p < ps->end && *ps->p != '"') {
		unsigned c = *ps->p;

		if (c < 0x20)
			goto bad; /* raw control character */
		if (c == '\\') {
			ps->p++;
			if (ps->p >= ps->end)
				goto bad;
			c = *ps->p++;
			switch (c) {
			case '"':
			case '\\':
			case '/':
				buf[n++] = (char)c;
				break;
			case 'b':
				buf[n++] = '\b';
				break;
			case 'f':
				buf[n++] = '\f';
				break;
			case 'n':
				buf[n++] = '\n';
				break;
			case 'r':
				buf[n++] = '\r';
				break;
			case 't':
				buf[n++] = '\t';
				break;
			case 'u': {
				uint32_t cp, lo;

				if (hex4(ps, &cp) < 0)
					goto bad;
				if (cp >= 0xDC00 && cp <= 0xDFFF)
					goto bad; /* lone low surrogate */
				if (cp >= 0xD800 && cp <= 0xDBFF) {
					if (ps->end - ps->p < 6 || ps->p[0] != '\\' ||
					    ps->p[1] != 'u')
						goto bad;
					ps->p += 2;
					if (hex4(ps, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
						goto bad;
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				}
				put_utf8(buf, &n, cp);
				break;
			}
			default:
				goto bad;
			}
			continue;
		}
		{
			size_t l = utf8_len(ps->p, ps->end);

			if (!l)
				goto bad;
			memcpy(buf + n, ps->p, l);
			n += l;
			ps->p += l;
		}
	}
	if (ps->p >= ps->end)
		goto bad;
	ps->p++; /* closing quote */
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
bad:
	free(buf);
	fail(ps);
	return -1;
}

static int parse_number(struct parser *ps, struct jt_node *n)
{
	const unsigned char *s = ps->p;
	int is_int = 1;
	char tmp[64];
	size_t l;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p >= ps->end)
		return fail(ps), -1;
	if (*ps->p == '0') {
		ps->p++;
	} else if (*ps->p >= '1' && *ps->p <= '9') {
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	} else {
		return fail(ps), -1;
	}
	if (ps->p < ps->end && *ps->p == '.') {
		is_int = 0;
		ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return fail(ps), -1;
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		is_int = 0;
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
			return fail(ps), -1;
		while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
			ps->p++;
	}
	l = (size_t)(ps->p - s);
	if (l >= sizeof(tmp))
		l = sizeof(tmp) - 1; /* only the double value suffers; ints are short */
	memcpy(tmp, s, l);
	tmp[l] = '\0';
	n->d = strtod(tmp, NULL);
	if (is_int) {
		errno = 0;
		n->i = strtoll(tmp, NULL, 10);
		n->type = errno == ERANGE ? JT_DOUBLE : JT_INT;
	} else {
		n->type = JT_DOUBLE;
	}
	return 0;
}

static int literal(struct parser *ps, const char *word)
{
	size_t l = strlen(word);

	if ((size_t)(ps->end - ps->p) < l || memcmp(ps->p, word, l) != 0)
		return fail(ps), -1;
	ps->p += l;
	return 0;
}

static struct jt_node *parse_value(struct parser *ps, int depth);

static struct jt_node *parse_container(struct parser *ps, int depth, int object)
{
	struct jt_node *n = new_node(ps, object ? JT_OBJECT : JT_ARRAY);
	struct jt_node **tail;
	char close = object ? '}' : ']';

	if (!n)
		return NULL;
	tail = &n->child;
	ps->p++; /* [ or { */
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return n;
	}
	for (;;) {
		char *key = NULL;
		size_t klen;
		struct jt_node *v;

		skip_ws(ps);
		if (object) {
			if (parse_string(ps, &key, &klen) < 0)
				break;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':') {
				free(key);
				fail(ps);
				break;
			}
			ps->p++;
		}
		v = parse_value(ps, depth + 1);
		if (!v) {
			free(key);
			break;
		}
		v->key = key;
		*tail = v;
		tail = &v->next;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return n;
		}
		fail(ps);
		break;
	}
	jt_free(n);
	return NULL;
}

static struct jt_node *parse_value(struct parser *ps, int depth)
{
	struct jt_node *n;

	if (depth > MAX_DEPTH)
		return fail(ps), NULL;
	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps), NULL;
	switch (*ps->p) {
	case '{':
		return parse_container(ps, depth, 1);
	case '[':
		return parse_container(ps, depth, 0);
	case '"':
		n = new_node(ps, JT_STRING);
		if (n && parse_string(ps, &n->str, &n->len) < 0) {
			free(n);
			return NULL;
		}
		return n;
	case 't':
	case 'f':
		n = new_node(ps, JT_BOOL);
		if (n && literal(ps, *ps->p == 't' ? "true" : "false") < 0) {
			free(n);
			return NULL;
		}
		if (n)
			n->i = ps->p[-1] == 'e' && ps->p[-2] == 'u';
		return n;
	case 'n':
		n = new_node(ps, JT_NULL);
		if (n && literal(ps, "null") < 0) {
			free(n);
			return NULL;
		}
		return n;
	default:
		n = new_node(ps, JT_INT);
		if (n && parse_number(ps, n) < 0) {
			free(n);
			return NULL;
		}
		return n;
	}
}

struct jt_node *jt_parse(const char *buf, size_t len, size_t *err_off)
{
	struct parser ps = {.p = (const unsigned char *)buf,
			    .end = (const unsigned char *)buf + len,
			    .start = (const unsigned char *)buf};
	struct jt_node *root = parse_value(&ps, 0);

	if (root) {
		skip_ws(&ps);
		if (ps.p != ps.end) {
			fail(&ps);
			jt_free(root);
			root = NULL;
		}
	}
	if (!root && err_off)
		*err_off = ps.failed ? ps.err_off : (size_t)(ps.p - ps.start);
	return root;
}

void jt_free(struct jt_node *n)
{
	while (n) {
		struct jt_node *next = n->next;

		jt_free(n->child);
		free(n->str);
		free(n->key);
		free(n);
		n = next;
	}
}

const struct jt_node *jt_get(const struct jt_node *obj, const char *key)
{
	if (!obj || obj->type != JT_OBJECT)
		return NULL;
	for (const struct jt_node *c = obj->child; c; c = c->next)
		if (c->key && strcmp(c->key, key) == 0)
			return c;
	return NULL;
}

double jt_num(const struct jt_node *n, double dflt)
{
	if (n && (n->type == JT_INT || n->type == JT_DOUBLE))
		return n->d;
	return dflt;
}
