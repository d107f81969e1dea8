/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Process facts read from /proc for stats: the resident memory of a vassal
 * and everything it started (walked through /proc/PID/task/TID/children,
 * bounded), and a wait status in words.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <signal.h>

#include "emperor/internal.h"

#define RSS_MAX_PROCS 256

static uint64_t vm_rss(pid_t pid)
{
	uint64_t bytes = 0;
	return vsl_proc_rss(pid, &bytes) == 0 ? bytes : 0;
}

/* Append pid's children (of its main thread) to the list. */
static size_t add_children(pid_t pid, pid_t *list, size_t n, size_t max)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return n;
	int child;
	while (n < max && fscanf(f, "%d", &child) == 1)
		list[n++] = child;
	fclose(f);
	return n;
}

uint64_t emp_rss_bytes(pid_t pid)
{
	pid_t list[RSS_MAX_PROCS];
	size_t n = 0, i = 0;
	list[n++] = pid;
	uint64_t total = 0;
	for (; i < n; i++) {
		total += vm_rss(list[i]);
		n = add_children(list[i], list, n, RSS_MAX_PROCS);
	}
	return total;
}

void emp_format_status(int status, bool has, char *out, size_t len)
{
	if (!has)
		snprintf(out, len, "none");
	else if (WIFEXITED(status))
		snprintf(out, len, "exited %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, len, "killed by SIG%s", sigabbrev_np(WTERMSIG(status))
						      ? sigabbrev_np(WTERMSIG(status))
						      : "?");
	else
		snprintf(out, len, "status 0x%x", (unsigned)status);
}
