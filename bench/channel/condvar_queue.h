/*
 * condvar_queue.h - the baseline of the channel benchmark: a plain bounded FIFO of 64-bit
 * values guarded by one mutex and two condition variables (not empty, not full), the queue
 * most C programs write by hand.
 *
 * Any thread may call cq_send and cq_recv; both block (on a full or an empty queue).
 */
#ifndef LT_BENCH_CONDVAR_QUEUE_H
#define LT_BENCH_CONDVAR_QUEUE_H

#include <pthread.h>
#include <stdint.h>

struct cq {
	pthread_mutex_t lock;
	pthread_cond_t not_empty; /* signalled after each send */
	pthread_cond_t not_full;  /* signalled after each receive */
	uint64_t *slots;          /* owned, `capacity` values */
	uint32_t capacity;
	uint32_t head;  /* index of the oldest value */
	uint32_t count; /* values queued */
};

/* cq_create - a queue with room for `capacity` (>= 1) values, or NULL when out of memory. */
struct cq *cq_create(uint32_t capacity);

/* cq_destroy - frees `q` (no thread may be using it). NULL is ignored. */
void cq_destroy(struct cq *q);

/* cq_send - appends `value`, waiting while the queue is full. */
void cq_send(struct cq *q, uint64_t value);

/* cq_recv - removes and returns the oldest value, waiting while the queue is empty. */
uint64_t cq_recv(struct cq *q);

#endif /* LT_BENCH_CONDVAR_QUEUE_H */
