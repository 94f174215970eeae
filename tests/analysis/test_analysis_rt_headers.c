/*
 * test_analysis_rt_headers.c - the runtime's public headers and the analysis core's internal
 * header in one translation unit. The runtime's component, channel and route are opaque
 * (struct lt_comp, lt_chan, lt_route); the analysis keeps its own records under other tags
 * (struct lt_an_comp, lt_an_chan, lt_an_route). The definitions of the runtime tags below
 * stand for "these tags are free in internal.h": if internal.h defined any of them again,
 * this file would not compile (redefinition), where a plain include of both would compile
 * and silently give the runtime's functions the analysis' types.
 */
#include <looptrace/rt/rt.h>
#include "internal.h"
#include "lt_test.h"

struct lt_comp {
	int tag_is_free_in_the_analysis;
};
struct lt_chan {
	int tag_is_free_in_the_analysis;
};
struct lt_route {
	int tag_is_free_in_the_analysis;
};

static void test_both_apis(void)
{
	/* the runtime's channel, through its pointer type, in the same unit */
	struct lt_chan *ch = NULL;
	LT_ASSERT_EQ_I(lt_chan_create("rt-headers", 4, NULL, &ch), LT_OK);
	LT_ASSERT(ch != NULL);
	LT_ASSERT_EQ_U(lt_chan_depth(ch), 0);
	lt_chan_destroy(ch);

	/* and the analysis' own records, distinct types */
	struct lt_an_comp c = {.id = 7, .thread = -1};
	struct lt_an_chan k = {.id = 3, .capacity = 4};
	struct lt_an_route r = {.id = 2, .chan = 3, .nroutes = 1};
	LT_ASSERT_EQ_U(c.id + k.id + r.id, 12);
	LT_ASSERT(!__builtin_types_compatible_p(struct lt_comp, struct lt_an_comp));
	LT_ASSERT(!__builtin_types_compatible_p(struct lt_chan, struct lt_an_chan));
	LT_ASSERT(!__builtin_types_compatible_p(struct lt_route, struct lt_an_route));
}

int main(void)
{
	LT_RUN(test_both_apis);
	return 0;
}
