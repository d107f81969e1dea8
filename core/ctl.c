/* SPDX-License-Identifier: GPL-2.0-or-later */
#define _GNU_SOURCE
/* Sending control messages (see ctl.h). */
#include "core/ctl.h"

#include <string.h>
#include <sys/socket.h>
#include <errno.h>
#include <unistd.h>

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

int ctl_send_fd(int fd, uint8_t code, int passfd)
{
	return ctl_send_msg_fd(fd, code, NULL, 0, passfd);
}

int ctl_send_msg_fd(int fd, uint8_t code, const char *msg, size_t len, int passfd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctrl;
	char pkt[CTL_MAX];
	if (len > sizeof(pkt) - 1)
		len = sizeof(pkt) - 1;
	pkt[0] = (char)code;
	if (len)
		memcpy(pkt + 1, msg, len);
	memset(&ctrl, 0, sizeof(ctrl));
	struct iovec iov = {.iov_base = pkt, .iov_len = len + 1};
	struct msghdr m = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf, .msg_controllen = sizeof(ctrl.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &passfd, sizeof(int));
	ssize_t r;
	do
		r = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -1 : 0;
}

int ctl_take_fd(struct msghdr *m)
{
	int taken = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfds; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (taken < 0)
				taken = got;
			else
				close(got);
		}
	}
	return taken;
}

ssize_t ctl_recv(int fd, void *pkt, size_t cap, int *passfd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctrl;
	struct iovec iov = {.iov_base = pkt, .iov_len = cap};
	struct msghdr m = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf, .msg_controllen = sizeof(ctrl.buf)};
	ssize_t n;
	do
		n = recvmsg(fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	*passfd = n < 0 ? -1 : ctl_take_fd(&m);
	return n;
}
