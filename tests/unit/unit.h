/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every Check suite's main() does: run in fork mode, report, fail. */
#ifndef TESTS_UNIT_H
#define TESTS_UNIT_H

#include <check.h>

/* unit_run - run @s with fork mode on; returns main()'s exit code. */
static inline int unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}

#endif
