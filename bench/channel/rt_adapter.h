/*
 * rt_adapter.h - liblooptrace-rt's channel (looptrace/rt/chan.h) in the shape workload.h
 * expects. Values travel as the message pointer itself (no allocation per message; the
 * channel has no free function, so nothing is freed), sent with lt_chan_send and received
 * with lt_chan_recv: the blocking calls an application uses.
 */
#ifndef LT_BENCH_RT_ADAPTER_H
#define LT_BENCH_RT_ADAPTER_H

#include <stdint.h>

#include <looptrace/rt/chan.h>

#define RT_QUEUE struct lt_chan

static inline struct lt_chan *rt_queue_create(uint32_t capacity)
{
	struct lt_chan *ch = NULL;
	if (lt_chan_create("bench", capacity, NULL, &ch) != LT_OK)
		return NULL;
	return ch;
}

static inline void rt_queue_destroy(struct lt_chan *ch)
{
	lt_chan_destroy(ch);
}

static inline int rt_queue_send(struct lt_chan *ch, uint64_t value)
{
	return lt_chan_send(ch, (void *)(uintptr_t)value) == LT_OK ? 0 : -1;
}

static inline int rt_queue_recv(struct lt_chan *ch, uint64_t *out)
{
	void *msg;
	if (lt_chan_recv(ch, &msg) != LT_OK)
		return -1;
	*out = (uint64_t)(uintptr_t)msg;
	return 0;
}

#endif /* LT_BENCH_RT_ADAPTER_H */
