/*
 * replay_main.c - runs a libFuzzer target without libFuzzer: every file given (or every file
 * in a folder given) is fed to LLVMFuzzerTestOneInput once, then `--random N` more inputs
 * made by a seeded generator (LT_SEED=<n> replays them; the seed is printed). An input that
 * breaks an invariant is saved as ./fuzz-failure.bin (replay it by giving its path). This is how
 * the fuzz invariants run in every build (gcc, asan, tsan) as an ordinary CTest unit test.
 *
 *   fuzz_analysis_replay [--random N] PATH...
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long files;

/* The input running now: written to ./fuzz-failure.bin if the target aborts. */
static const uint8_t *current;
static size_t current_len;

static void save_input(int sig)
{
	int fd = open("fuzz-failure.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		if (write(fd, current, current_len) < 0) {
			/* nothing more to do in a dying process */
		}
		close(fd);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void feed(const uint8_t *data, size_t len)
{
	current = data;
	current_len = len;
	LLVMFuzzerTestOneInput(data, len);
}

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		exit(1);
	}
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			buf = realloc(buf, cap);
			if (!buf)
				exit(1);
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	feed(buf, len);
	free(buf);
	files++;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char **list = NULL;
	size_t n = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: not found\n", path);
		exit(1);
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	d = opendir(path);
	if (!d)
		exit(1);
	while ((e = readdir(d))) {
		size_t l = strlen(path) + strlen(e->d_name) + 2;
		char *full;

		if (e->d_name[0] == '.')
			continue;
		full = malloc(l);
		list = realloc(list, (n + 1) * sizeof(*list));
		if (!full || !list)
			exit(1);
		snprintf(full, l, "%s/%s", path, e->d_name);
		list[n++] = full;
	}
	closedir(d);
	qsort(list, n, sizeof(*list), by_name);
	for (size_t i = 0; i < n; i++) {
		run_path(list[i]);
		free(list[i]);
	}
	free(list);
}

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int main(int argc, char **argv)
{
	long random_inputs = 0;
	const char *env = getenv("LT_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : ((uint64_t)time(NULL) ^ (uint64_t)getpid());
	uint64_t s = seed | 1;

	signal(SIGABRT, save_input);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--random") == 0 && i + 1 < argc) {
			random_inputs = atol(argv[++i]);
			continue;
		}
		run_path(argv[i]);
	}
	fprintf(stderr, "replay: %ld corpus files ok\n", files);
	if (random_inputs > 0) {
		uint8_t buf[1200];

		fprintf(stderr, "replay: %ld random inputs, seed %llu (replay with LT_SEED=%llu)\n",
			random_inputs, (unsigned long long)seed, (unsigned long long)seed);
		for (long k = 0; k < random_inputs; k++) {
			size_t len = (size_t)(next(&s) % sizeof(buf));

			for (size_t i = 0; i < len; i++)
				buf[i] = (uint8_t)next(&s);
			/* Bias toward loop events and snapshots: they make the states interact. */
			for (size_t i = 4; i + 6 <= len; i += 6)
				if (next(&s) % 3 == 0)
					buf[i] = (uint8_t)((buf[i] & 0xE0) | (4 + next(&s) % 4));
			feed(buf, len);
		}
		fprintf(stderr, "replay: random inputs ok\n");
	}
	return 0;
}
