/*
 * sig_app.c - what liblooptrace's fatal-signal handlers do to a traced program (recorded by
 * test_reliability.py, Signals; batch.c, "Fatal signals").
 *
 *   sig_app dispositions
 *       Sets SIGHUP to SIG_IGN and a handler of its own on SIGQUIT, then records
 *       (so liblooptrace makes its ring and installs its handlers), then prints, per fatal
 *       signal, what its disposition is now: "default", "ignore", "program" or "other".
 *   sig_app run DIR HOW N
 *       Forks and execs `sig_app child DIR HOW N`, waits for it and prints its fate as JSON:
 *       {"pid": child, "exited": 0|1, "status": exit status, "signal": N, "core": 0|1}.
 *   sig_app child DIR HOW N
 *       Goes to DIR, lets a core dump be written there (its private memory only), records N
 *       sends on one thread (prints {"sent": N} first), then, per HOW: "segv" writes through a
 *       null pointer, "fpe" divides by zero, "term" sends itself SIGTERM (kill), "abort"
 *       calls abort(), "hup-ignored" sets SIGHUP to SIG_IGN before it records, then raises
 *       SIGHUP (and must survive it: exit status 0), "exit" returns 0.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <looptrace/trace.h>

static const struct {
	int sig;
	const char *name;
} fatal[] = {{SIGSEGV, "SIGSEGV"}, {SIGBUS, "SIGBUS"},   {SIGILL, "SIGILL"},
	     {SIGFPE, "SIGFPE"},   {SIGABRT, "SIGABRT"}, {SIGTERM, "SIGTERM"},
	     {SIGINT, "SIGINT"},   {SIGHUP, "SIGHUP"},   {SIGQUIT, "SIGQUIT"}};

static void own_handler(int sig)
{
	(void)sig;
}

static void record_some(long n)
{
	uint32_t ch = lt_channel_declare("sig.chan", 16);

	lt_component_begin("sig.comp");
	for (long i = 0; i < n; i++)
		lt_send(ch, lt_message_new(), 0, 1);
}

static int dispositions(void)
{
	struct sigaction sa = {.sa_handler = own_handler};

	sigemptyset(&sa.sa_mask);
	signal(SIGHUP, SIG_IGN);
	sigaction(SIGQUIT, &sa, NULL);
	record_some(1);
	printf("{");
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
		struct sigaction old;
		const char *what = "other";

		sigaction(fatal[i].sig, NULL, &old);
		if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL)
			what = "default";
		else if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_IGN)
			what = "ignore";
		else if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == own_handler)
			what = "program";
		printf("%s\"%s\": \"%s\"", i ? ", " : "", fatal[i].name, what);
	}
	printf("}\n");
	return 0;
}

static int child(const char *dir, const char *how, long n)
{
	struct rlimit core = {RLIM_INFINITY, RLIM_INFINITY};
	FILE *f;

	if (chdir(dir) != 0)
		return 3;
	/* Core dumps of private memory only: LTTng's buffers (shared) stay out of the file. */
	if ((f = fopen("/proc/self/coredump_filter", "w")) != NULL) {
		fputs("0x1", f);
		fclose(f);
	}
	setrlimit(RLIMIT_CORE, &core);
	if (strcmp(how, "hup-ignored") == 0)
		signal(SIGHUP, SIG_IGN);
	record_some(n);
	printf("{\"sent\": %ld}\n", n);
	fflush(stdout);
	if (strcmp(how, "segv") == 0) {
		volatile int *volatile p = NULL;

		*p = 1;
	} else if (strcmp(how, "fpe") == 0) {
		volatile int zero = 0;

		return 10 / zero;
	} else if (strcmp(how, "term") == 0) {
		kill(getpid(), SIGTERM);
		pause();
	} else if (strcmp(how, "abort") == 0) {
		abort();
	} else if (strcmp(how, "hup-ignored") == 0) {
		raise(SIGHUP);
	}
	return 0;
}

static int run(char **argv)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return 3;
	if (pid == 0) {
		char *args[] = {argv[0], "child", argv[2], argv[3], argv[4], NULL};

		execv("/proc/self/exe", args);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 3;
	printf("{\"pid\": %ld, \"exited\": %d, \"status\": %d, \"signal\": %d, \"core\": %d}\n",
	       (long)pid, WIFEXITED(st) ? 1 : 0, WIFEXITED(st) ? WEXITSTATUS(st) : -1,
	       WIFSIGNALED(st) ? WTERMSIG(st) : 0, WIFSIGNALED(st) && WCOREDUMP(st) ? 1 : 0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "dispositions") == 0)
		return dispositions();
	if (argc == 5 && strcmp(argv[1], "run") == 0)
		return run(argv);
	if (argc == 5 && strcmp(argv[1], "child") == 0)
		return child(argv[2], argv[3], atol(argv[4]));
	fprintf(stderr, "usage: sig_app dispositions | run|child DIR HOW N\n");
	return 2;
}
