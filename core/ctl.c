/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/* Sending control messages (see ctl.h). */
#include "core/ctl.h"

#include <string.h>
#include <sys/socket.h>
#include <errno.h>

int ctl_send(int fd, uint8_t code, const char *msg, size_t len)
{
	char pkt[CTL_MAX];
	if (len > sizeof(pkt) - 1)
		len = sizeof(pkt) - 1;
	pkt[0] = (char)code;
	if (len)
		memcpy(pkt + 1, msg, len);
	ssize_t r;
	do
		r = send(fd, pkt, len + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -1 : 0;
}
