/*
 * consumer.c - a tiny program built against an installed looptrace (pkg-config and
 * find_package), by tests/libtrace/install_test.sh.
 */
#include <looptrace/trace.h>

#include <stdio.h>

int main(void)
{
	uint32_t comp = lt_component_begin("consumer");
	uint64_t msg = lt_message_new();

	lt_handle_begin(msg, "hello");
	lt_handle_end(msg);
	lt_component_end();
	printf("comp %u msg %llu reason %s\n", comp, (unsigned long long)msg,
	       lt_block_reason_name(LT_BLOCK_MUTEX));
	return comp == 1 && msg >> 48 != 0 ? 0 : 1; /* message ids carry a tag (top bits) */
}
