// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers of the unified_io network selftests: the data pattern, sockets and
 * the sender process; see net_lib.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net_lib.h"

/* --- the data pattern ---------------------------------------------------- */

static inline uint64_t pat_word(uint32_t flow, uint64_t k)
{
	uint64_t z = k + ((uint64_t)(flow + 1) << 52) + 0x9e3779b97f4a7c15ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint8_t nl_pattern_byte(uint32_t flow, uint64_t off)
{
	return pat_word(flow, off >> 3) >> ((off & 7) * 8);
}

void nl_pattern_fill(uint32_t flow, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len && (off & 7)) {
		*p++ = nl_pattern_byte(flow, off++);
		len--;
	}
	while (len >= 8) {
		uint64_t w = pat_word(flow, off >> 3);

		memcpy(p, &w, 8);	/* little endian: byte i is bits 8i.. */
		p += 8;
		off += 8;
		len -= 8;
	}
	while (len--)
		*p++ = nl_pattern_byte(flow, off++);
}

long nl_pattern_check(uint32_t flow, uint64_t off, const void *buf, size_t len,
		      uint8_t xor)
{
	uint8_t want[4096];
	const uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		size_t n = len - done < sizeof(want) ? len - done : sizeof(want);

		nl_pattern_fill(flow, off + done, want, n);
		if (xor)
			for (size_t i = 0; i < n; i++)
				want[i] ^= xor;
		if (memcmp(want, p + done, n)) {
			for (size_t i = 0; i < n; i++)
				if (want[i] != p[done + i])
					return done + i;
		}
		done += n;
	}
	return -1;
}

/* --- sockets and the sender ---------------------------------------------- */

int nl_listen(struct in_addr addr, uint16_t port)
{
	return nl_listen_rcvbuf(addr, port, 0);
}

int nl_listen_rcvbuf(struct in_addr addr, uint16_t port, int rcvbuf)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr = addr,
	};
	int one = 1, s, ret;

	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* Before listen(): the accepted sockets inherit it, window scale too. */
	if (rcvbuf > 0 &&
	    setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf))) {
		ret = -errno;
		close(s);
		return ret;
	}
	if (bind(s, (struct sockaddr *)&sin, sizeof(sin)) || listen(s, 16)) {
		ret = -errno;
		close(s);
		return ret;
	}
	return s;
}

int nl_accept_flows(int lsock, int n, int *socks, int timeout_ms)
{
	uint64_t end = nl_now_ms() + timeout_ms;
	int got = 0;

	for (int i = 0; i < n; i++)
		socks[i] = -1;
	while (got < n) {
		struct pollfd pfd = { .fd = lsock, .events = POLLIN };
		struct sockaddr_in peer;
		socklen_t plen = sizeof(peer);
		int64_t left = (int64_t)(end - nl_now_ms());
		int s, flow;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, left) <= 0)
			continue;
		s = accept4(lsock, (struct sockaddr *)&peer, &plen,
			    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (s < 0)
			return -errno;
		flow = ntohs(peer.sin_port) - NL_SRC_PORT;
		if (flow < 0 || flow >= n || socks[flow] >= 0) {
			close(s);
			return -EPROTO;
		}
		socks[flow] = s;
		got++;
	}
	return 0;
}

struct sender_flow_arg {
	const struct nl_sender_opts *o;
	struct nl_sender_shared *sh;
	int flow;
};

static void *sender_flow(void *arg)
{
	struct sender_flow_arg *a = arg;
	const struct nl_sender_opts *o = a->o;
	struct nl_flow_state *st = &a->sh->flow[a->flow];
	struct sockaddr_in src = {
		.sin_family = AF_INET,
		.sin_port = htons(NL_SRC_PORT + a->flow),
	}, dst = {
		.sin_family = AF_INET,
		.sin_port = htons(o->dport),
		.sin_addr = o->dst,
	};
	struct timeval tv = { .tv_usec = 200000 };
	static __thread uint8_t buf[65536];
	uint64_t off = 0, end = nl_now_ms() + 30000;
	int one = 1, s;

	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		st->err = errno;
		return NULL;
	}
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (o->linger0) {
		struct linger l = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(s, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	if (o->sndbuf > 0)
		setsockopt(s, SOL_SOCKET, SO_SNDBUF, &o->sndbuf, sizeof(o->sndbuf));
	if (bind(s, (struct sockaddr *)&src, sizeof(src))) {
		st->err = errno;
		close(s);
		return NULL;
	}
	/* The listener may come a moment later: retry refusals. */
	while (connect(s, (struct sockaddr *)&dst, sizeof(dst))) {
		if ((errno != ECONNREFUSED && errno != EINTR &&
		     errno != EAGAIN && errno != EINPROGRESS &&
		     errno != EALREADY) || nl_now_ms() > end || a->sh->stop) {
			st->err = errno;
			close(s);
			return NULL;
		}
		usleep(50000);
	}
	while (off < o->bytes && !a->sh->stop) {
		size_t n = o->bytes - off < sizeof(buf) ? o->bytes - off : sizeof(buf);
		ssize_t w;

		if (a->sh->pause) {
			usleep(10000);
			continue;
		}
		nl_pattern_fill(a->flow, off, buf, n);
		w = write(s, buf, n);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			st->err = errno;
			break;
		}
		/* Only what was written is re-generated next time. */
		off += w;
		st->sent = off;
	}
	if (close(s) && !st->err)
		st->err = errno;
	if (off == o->bytes && !st->err)
		st->done = 1;
	return NULL;
}

int nl_sender_start(struct nl_sender *s, const struct nl_sender_opts *o)
{
	memset(s, 0, sizeof(*s));
	s->pid = -1;
	if (o->nr_flows < 1 || o->nr_flows > NL_MAX_FLOWS)
		return -EINVAL;
	s->nr_flows = o->nr_flows;
	s->sh = mmap(NULL, sizeof(*s->sh), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s->sh == MAP_FAILED) {
		s->sh = NULL;
		return -errno;
	}
	fflush(stdout);
	fflush(stderr);
	s->pid = fork();
	if (s->pid < 0)
		return -errno;
	if (s->pid == 0) {
		struct sender_flow_arg args[NL_MAX_FLOWS];
		pthread_t t[NL_MAX_FLOWS];
		int ok = 1;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGPIPE, SIG_IGN);
		if (o->nsfd >= 0 && setns(o->nsfd, CLONE_NEWNET))
			_exit(2);
		for (int i = 0; i < o->nr_flows; i++) {
			args[i] = (struct sender_flow_arg){ o, s->sh, i };
			if (pthread_create(&t[i], NULL, sender_flow, &args[i]))
				_exit(3);
		}
		for (int i = 0; i < o->nr_flows; i++) {
			pthread_join(t[i], NULL);
			ok &= s->sh->flow[i].done;
		}
		_exit(ok ? 0 : 1);
	}
	return 0;
}

int nl_sender_wait(struct nl_sender *s, int timeout_ms)
{
	uint64_t end = nl_now_ms() + timeout_ms;
	int status;

	if (s->pid <= 0)
		return -ECHILD;
	for (;;) {
		pid_t r = waitpid(s->pid, &status, WNOHANG);

		if (r == s->pid)
			break;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (nl_now_ms() > end)
			return -ETIMEDOUT;
		usleep(10000);
	}
	s->pid = -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

void nl_sender_kill(struct nl_sender *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	s->pid = -1;
	if (s->sh)
		munmap(s->sh, sizeof(*s->sh));
	s->sh = NULL;
}

uint64_t nl_sender_sent(const struct nl_sender *s)
{
	uint64_t sum = 0;

	for (int i = 0; i < s->nr_flows; i++)
		sum += s->sh->flow[i].sent;
	return sum;
}

