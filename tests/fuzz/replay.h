/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The corpus replayer shared by every fuzz target: without libFuzzer, a
 * target's main() feeds LLVMFuzzerTestOneInput each file named on the
 * command line (a directory means every file in it, sorted), or with no
 * argument every file of tests/fuzz/corpus/<FUZZ_NAME>/. Include it once,
 * after defining FUZZ_NAME, at the end of the target.
 */
#ifndef FUZZ_REPLAY_H
#define FUZZ_REPLAY_H
#ifndef IMPERIUM_LIBFUZZER

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define REPLAY_MAX (2u << 20) /* bytes read of each corpus file */

static void replay_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
	if (f == NULL) {
		perror(path);
		exit(1);
	}
	char *buf = malloc(REPLAY_MAX);
	if (buf == NULL)
		abort();
	size_t n = fread(buf, 1, REPLAY_MAX, f);
	fclose(f);
	LLVMFuzzerTestOneInput((const uint8_t *)buf, n);
	free(buf);
}

static void replay(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		perror(path);
		exit(1);
	}
	if (!S_ISDIR(st.st_mode)) {
		replay_file(path);
		return;
	}
	struct dirent **names;
	int n = scandir(path, &names, NULL, alphasort);
	if (n < 0) {
		perror(path);
		exit(1);
	}
	for (int i = 0; i < n; i++) {
		char full[4096];
		if (names[i]->d_name[0] != '.' &&
		    snprintf(full, sizeof(full), "%s/%s", path, names[i]->d_name) < (int)sizeof(full))
			replay_file(full);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		replay("tests/fuzz/corpus/" FUZZ_NAME);
	for (int i = 1; i < argc; i++)
		replay(argv[i]);
	return 0;
}

#endif
#endif
