/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/*
 * Unit tests for core/file.c: an anonymous temporary file has no name left
 * in its directory, is private to its owner and takes whole writes; a
 * missing directory is an error with errno.
 */
#include "tests/unit/unit.h"
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"

static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	size_t n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

START_TEST(tmp_is_anonymous)
{
	char dir[] = "/tmp/check-file-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	int fd = file_tmp_open(dir, "t");
	ck_assert_int_ge(fd, 0);
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq(st.st_nlink, 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_uint_eq(entries(dir), 0);
	static char big[1 << 20];
	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(file_write_all(fd, big, sizeof(big)), 0);
	ck_assert_int_eq(file_write_all(fd, "end", 3), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, (off_t)sizeof(big) + 3);
	char tail[3];
	ck_assert_int_eq(pread(fd, tail, 3, sizeof(big)), 3);
	ck_assert(memcmp(tail, "end", 3) == 0);
	close(fd);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

START_TEST(tmp_missing_dir)
{
	errno = 0;
	ck_assert_int_eq(file_tmp_open("/nonexistent-dir-of-check-file", "t"), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(write_to_closed_fails)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(file_write_all(p[1], "x", 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(p[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("file");
	TCase *tc = tcase_create("tmp_is_anonymous");
	tcase_add_test(tc, tmp_is_anonymous);
	suite_add_tcase(s, tc);
	tc = tcase_create("tmp_missing_dir");
	tcase_add_test(tc, tmp_missing_dir);
	suite_add_tcase(s, tc);
	tc = tcase_create("write_to_closed_fails");
	tcase_add_test(tc, write_to_closed_fails);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
