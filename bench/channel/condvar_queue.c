/*
 * condvar_queue.c - the mutex + condition variable bounded queue (see condvar_queue.h).
 * Deliberately plain: one lock, signal on every state change, no spinning.
 */
#include "condvar_queue.h"

#include <stdlib.h>

struct cq *cq_create(uint32_t capacity)
{
	struct cq *q = calloc(1, sizeof(*q));
	if (q == NULL || capacity == 0)
		goto fail;
	q->slots = calloc(capacity, sizeof(*q->slots));
	if (q->slots == NULL)
		goto fail;
	q->capacity = capacity;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
	return q;
fail:
	free(q);
	return NULL;
}

void cq_destroy(struct cq *q)
{
	if (q == NULL)
		return;
	pthread_cond_destroy(&q->not_full);
	pthread_cond_destroy(&q->not_empty);
	pthread_mutex_destroy(&q->lock);
	free(q->slots);
	free(q);
}

void cq_send(struct cq *q, uint64_t value)
{
	pthread_mutex_lock(&q->lock);
	while (q->count == q->capacity)
		pthread_cond_wait(&q->not_full, &q->lock);
	q->slots[(q->head + q->count) % q->capacity] = value;
	q->count++;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

uint64_t cq_recv(struct cq *q)
{
	pthread_mutex_lock(&q->lock);
	while (q->count == 0)
		pthread_cond_wait(&q->not_empty, &q->lock);
	uint64_t value = q->slots[q->head];
	q->head = (q->head + 1) % q->capacity;
	q->count--;
	pthread_cond_signal(&q->not_full);
	pthread_mutex_unlock(&q->lock);
	return value;
}
