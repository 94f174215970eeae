/*
 * json_check.h - a strict JSON syntax checker for the analysis tests (RFC 8259 grammar, UTF-8
 * strings, no trailing commas).
 */
#ifndef LT_TEST_JSON_CHECK_H
#define LT_TEST_JSON_CHECK_H

#include <stddef.h>

/* json_check - 0 when buf[0..len) is one valid JSON value, else the failing offset + 1. */
size_t json_check(const char *buf, size_t len);

#endif
