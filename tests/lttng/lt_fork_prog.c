/*
 * lt_fork_prog.c - instrumented on both sides of a fork() without exec.
 *
 * Usage: lt_fork_prog [MESSAGES]   (default 100)
 * Before the fork the process takes a component, a channel and a few message ids (so the
 * forking thread holds a partly used block of message ids). After the fork, parent and child
 * each run a component ("parent" / "child") with its own channel and send MESSAGES messages.
 * Each side prints one JSON line: {"side", "pid", "comp", "chan", "msgs": [ids...]}; the parent
 * prints after the child has exited, and exits 1 if the child failed. A second thread records
 * too and lives across the fork (its ring is live in the parent, a dead thread's in the child,
 * where nothing of it may be written again).
 */
#define _GNU_SOURCE
#include "looptrace/trace.h"

#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void side(const char *name, int n)
{
	uint32_t comp = lt_component_begin(name);
	uint32_t chan = lt_channel_declare(name, 0);

	printf("{\"side\": \"%s\", \"pid\": %ld, \"comp\": %" PRIu32 ", \"chan\": %" PRIu32
	       ", \"msgs\": [",
	       name, (long)getpid(), comp, chan);
	for (int i = 0; i < n; i++) {
		uint64_t msg = lt_message_new();
		lt_send(chan, msg, 0, 1);
		lt_recv(chan, msg, 0);
		printf("%s%" PRIu64, i ? ", " : "", msg);
	}
	printf("]}\n");
	fflush(stdout);
	lt_component_end();
}

static sem_t recorded, done;

/* helper - a thread with records of its own, blocked across the fork. */
static void *helper(void *arg)
{
	(void)arg;
	lt_component_begin("helper");
	uint32_t chan = lt_channel_declare("helper", 0);
	for (int i = 0; i < 10; i++) {
		uint64_t msg = lt_message_new();
		lt_send(chan, msg, 0, 1);
		lt_recv(chan, msg, 0);
	}
	sem_post(&recorded);
	sem_wait(&done);
	lt_component_end();
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 100;
	pthread_t th;

	sem_init(&recorded, 0, 0);
	sem_init(&done, 0, 0);
	if (pthread_create(&th, NULL, helper, NULL) != 0)
		return 1;
	sem_wait(&recorded);

	lt_component_begin("before-fork");
	lt_channel_declare("before-fork", 0);
	for (int i = 0; i < 3; i++)
		lt_message_new();
	lt_component_end();
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		side("child", n);
		/* records left for the flush at exit, after the parent's dead rings' turn */
		uint32_t tail = lt_channel_declare("child-tail", 0);
		for (int i = 0; i < 5; i++)
			lt_send(tail, lt_message_new(), 0, 1);
		return 0;
	}
	int status = 0;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return 1;
	side("parent", n);
	sem_post(&done);
	pthread_join(th, NULL);
	return 0;
}
