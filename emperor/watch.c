/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Watching the vassal directories with inotify. A file counts once it is
 * whole: on close after writing, on rename into the directory, or on a
 * metadata change (touch). A file only created (a hard link, or a writer
 * still busy) is looked at after CREATED_GRACE if nothing else happened.
 * Only `NAME.ini` files whose NAME is a valid vassal name count; a name
 * already taken by a file in another directory is refused.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "emperor/internal.h"

#define CREATED_GRACE 0.25
#define WATCH_MASK                                                                           \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB | IN_CREATE |  \
	 IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

bool emp_name_from_file(const char *file, char *name, size_t len)
{
	size_t n = strlen(file);
	if (n <= 4 || strcmp(file + n - 4, ".ini") != 0 || file[0] == '.')
		return false;
	n -= 4;
	if (n > EMP_NAME_MAX || n + 1 > len)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = file[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	memcpy(name, file, n);
	name[n] = '\0';
	return true;
}

/* A file event: find or create the vassal, then feed the lifecycle. */
static void file_event(struct emp *e, const char *dir, const char *file, bool gone)
{
	char name[EMP_NAME_MAX + 1], path[PATH_MAX];
	if (!emp_name_from_file(file, name, sizeof(name)))
		return;
	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return;
	struct emp_vassal *v = emp_vassal_find(e, name);
	if (v != NULL && strcmp(v->path, path) != 0) {
		if (!gone)
			log_error("%s: refused: vassal name '%s' is already taken by %s", path,
				  name, v->path);
		return;
	}
	if (gone) {
		if (v)
			emp_event(v, VE_FILE_GONE);
		return;
	}
	if (v == NULL) {
		struct err *err = NULL;
		if ((v = emp_vassal_add(e, name, path, &err)) == NULL) {
			log_error("refused: %s", err_msg(err));
			err_free(&err);
			return;
		}
		log_info("vassal %s: new file %s", name, path);
	}
	emp_event(v, VE_FILE_CHANGED);
}

static void file_present(struct emp *e, const char *dir, const char *file)
{
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	file_event(e, dir, file, stat(path, &st) < 0 || !S_ISREG(st.st_mode));
}

static const char *dir_of(struct emp *e, int wd)
{
	for (size_t i = 0; i < e->cfg.n_dirs; i++)
		if (e->watches[i].wd == wd)
			return e->watches[i].dir;
	return NULL;
}

/* Files only created: look at every known dir's files again after a grace. */
static void on_created_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)revents;
	struct emp *e = container_of(w, struct emp, created_timer);
	for (size_t i = 0; i < e->cfg.n_dirs; i++) {
		DIR *d = opendir(e->cfg.dirs[i]);
		if (d == NULL)
			continue;
		struct dirent *de;
		char name[EMP_NAME_MAX + 1];
		while ((de = readdir(d)) != NULL)
			if (emp_name_from_file(de->d_name, name, sizeof(name)) &&
			    emp_vassal_find(e, name) == NULL)
				file_present(e, e->cfg.dirs[i], de->d_name);
		closedir(d);
	}
}

static void handle_one(struct emp *e, const struct inotify_event *ev)
{
	const char *dir = dir_of(e, ev->wd);
	if (ev->mask & IN_Q_OVERFLOW) {
		log_warn("emperor: inotify queue overflow, rescanning");
		ev_timer_stop(e->loop, &e->created_timer);
		ev_timer_set(&e->created_timer, 0., 0.);
		ev_timer_start(e->loop, &e->created_timer);
		return;
	}
	if (dir == NULL)
		return;
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
		log_error("emperor: vassal directory %s went away; its vassals keep running", dir);
		return;
	}
	if (ev->len == 0)
		return;
	if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
		file_event(e, dir, ev->name, true);
	else if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB))
		file_present(e, dir, ev->name);
	else if (ev->mask & IN_CREATE) {
		ev_timer_stop(e->loop, &e->created_timer);
		ev_timer_set(&e->created_timer, CREATED_GRACE, 0.);
		ev_timer_start(e->loop, &e->created_timer);
	}
}

static void on_inotify(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop, (void)revents;
	struct emp *e = container_of(w, struct emp, inotify_io);
	char evbuf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(e->inotify_fd, evbuf, sizeof(evbuf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		for (char *p = evbuf; p < evbuf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			handle_one(e, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
}

static void scan_dir(struct emp *e, const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		log_error("emperor: cannot scan %s: %s", dir, strerror(errno));
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		file_present(e, dir, de->d_name);
	closedir(d);
}

int emp_watch_start(struct emp *e, struct err **err)
{
	e->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (e->inotify_fd < 0)
		return err_set(err, errno, "inotify_init1");
	for (size_t i = 0; i < e->cfg.n_dirs; i++) {
		e->watches[i].dir = e->cfg.dirs[i];
		e->watches[i].wd = inotify_add_watch(e->inotify_fd, e->cfg.dirs[i], WATCH_MASK);
		if (e->watches[i].wd < 0)
			return err_set(err, errno, "watch %s", e->cfg.dirs[i]);
	}
	ev_io_init(&e->inotify_io, on_inotify, e->inotify_fd, EV_READ);
	ev_io_start(e->loop, &e->inotify_io);
	ev_timer_init(&e->created_timer, on_created_timer, CREATED_GRACE, 0.);
	for (size_t i = 0; i < e->cfg.n_dirs; i++)
		scan_dir(e, e->cfg.dirs[i]);
	return 0;
}

void emp_watch_stop(struct emp *e)
{
	ev_io_stop(e->loop, &e->inotify_io);
	ev_timer_stop(e->loop, &e->created_timer);
	if (e->inotify_fd >= 0)
		close(e->inotify_fd);
	e->inotify_fd = -1;
}
