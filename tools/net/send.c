// SPDX-License-Identifier: GPL-2.0-only
/*
 * unio-netstream send: N flows in parallel to HOST:PORT, one thread and one
 * TCP connection each, every flow the 64-byte header and then @bytes bytes
 * of its pattern (netstream.h). Connecting is retried until the receiver
 * listens or the timeout passes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "netstream.h"

struct ns_sender {
	const struct ns_send_opts *o;
	struct addrinfo *ai;
	_Atomic uint64_t sent;		/* payload bytes, all flows */
	_Atomic uint64_t send_calls;
	_Atomic unsigned int done;
	_Atomic int err;
};

struct ns_send_flow {
	struct ns_sender *s;
	pthread_t thread;
	uint32_t flow;
	int err;
	char msg[160];
};

int ns_connect(const struct addrinfo *ai, unsigned int timeout_s, char *msg,
	       size_t msg_size)
{
	uint64_t deadline = tool_now_ns() + (uint64_t)timeout_s * 1000000000ULL;
	int fd, err;

	for (;;) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
		if (fd < 0) {
			snprintf(msg, msg_size, "socket: %s", strerror(errno));
			return -errno;
		}
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen)) {
			struct timeval tv = { .tv_sec = timeout_s };

			/* Bounds the wait for the receiver's close. */
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			return fd;
		}
		err = errno;
		close(fd);
		if ((err != ECONNREFUSED && err != ENETUNREACH && err != EHOSTUNREACH) ||
		    tool_now_ns() > deadline) {
			snprintf(msg, msg_size, "connect: %s", strerror(err));
			return -err;
		}
		usleep(20000);
	}
}

static int ns_send_all(struct ns_sender *s, int fd, const void *buf, size_t len,
		       char *msg, size_t msg_size)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		atomic_fetch_add(&s->send_calls, 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(msg, msg_size, "send: %s", strerror(errno));
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}


/* --save: what went on the wire, also to the flow's file. */
static int ns_save(int fd, const void *p, size_t len, char *msg, size_t msg_size)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(msg, msg_size, "--save: %s", n ? strerror(errno) : "short write");
			return n ? -errno : -EIO;
		}
		p = (const char *)p + n;
		len -= n;
	}
	return 0;
}
static void *ns_send_thread(void *arg)
{
	struct ns_send_flow *sf = arg;
	struct ns_sender *s = sf->s;
	const struct ns_send_opts *o = s->o;
	uint64_t key = ns_flow_key(o->seed, sf->flow), off = 0;
	struct ns_hdr hdr;
	int fd, save = -1;
	char *buf;

	buf = malloc(o->chunk);
	if (!buf) {
		sf->err = -ENOMEM;
		snprintf(sf->msg, sizeof(sf->msg), "out of memory");
		goto out;
	}
	fd = ns_connect(s->ai, o->timeout_s, sf->msg, sizeof(sf->msg));
	if (fd < 0) {
		sf->err = fd;
		goto out_free;
	}
	if (o->save_dir) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/flow-%u", o->save_dir, sf->flow);
		save = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (save < 0) {
			sf->err = -errno;
			snprintf(sf->msg, sizeof(sf->msg), "--save flow-%u: %s", sf->flow,
				 strerror(errno));
			close(fd);
			goto out_free;
		}
	}
	ns_hdr_init(&hdr, sf->flow, o->nflows, o->bytes, o->seed);
	sf->err = ns_send_all(s, fd, &hdr, sizeof(hdr), sf->msg, sizeof(sf->msg));
	if (!sf->err && save >= 0)
		sf->err = ns_save(save, &hdr, sizeof(hdr), sf->msg, sizeof(sf->msg));
	while (!sf->err && off < o->bytes && !atomic_load(&s->err)) {
		size_t n = o->bytes - off < o->chunk ? o->bytes - off : o->chunk;

		ns_fill(key, off, buf, n);
		if (!sf->flow && o->corrupt >= 0 && (uint64_t)o->corrupt >= off &&
		    (uint64_t)o->corrupt < off + n)
			buf[o->corrupt - off] ^= 0x5a;	/* the receiver must notice */
		sf->err = ns_send_all(s, fd, buf, n, sf->msg, sizeof(sf->msg));
		if (!sf->err && save >= 0)
			sf->err = ns_save(save, buf, n, sf->msg, sizeof(sf->msg));
		if (!sf->err) {
			off += n;
			atomic_fetch_add(&s->sent, n);
		}
	}
	if (!sf->err && shutdown(fd, SHUT_WR)) {
		sf->err = -errno;
		snprintf(sf->msg, sizeof(sf->msg), "shutdown: %s", strerror(errno));
	}
	if (!sf->err) {
		/* Wait for the receiver to close: everything was taken. */
		char c;

		while (recv(fd, &c, 1, 0) > 0)
			;
	}
	close(fd);
	if (save >= 0)
		close(save);
out_free:
	free(buf);
out:
	if (sf->err)
		atomic_store(&s->err, sf->err);
	atomic_fetch_add(&s->done, 1);
	return NULL;
}

int ns_send(const struct ns_send_opts *o, struct ns_report *rep)
{
	struct ns_send_flow flows[NS_MAX_FLOWS];
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct ns_sender s = { .o = o };
	uint64_t usr0, sys0, usr, sys, last = 0;
	char port[16];
	unsigned int i;
	int ret;

	snprintf(port, sizeof(port), "%u", o->port);
	ret = getaddrinfo(o->host, port, &hints, &s.ai);
	if (ret) {
		tool_err("%s:%s: %s", o->host, port, gai_strerror(ret));
		return -EINVAL;
	}
	tool_cpu_ns(&usr0, &sys0);
	rep->ns = tool_now_ns();
	for (i = 0; i < o->nflows; i++) {
		flows[i] = (struct ns_send_flow){ .s = &s, .flow = i };
		ret = pthread_create(&flows[i].thread, NULL, ns_send_thread, &flows[i]);
		if (ret) {
			tool_err("pthread_create: %s", strerror(ret));
			atomic_store(&s.err, -ret);
			break;
		}
	}
	while (atomic_load(&s.done) < i) {
		uint64_t now = tool_now_ns();

		if (!o->quiet && now - last >= 2000000000ULL) {
			if (last)
				fprintf(stderr, "send: %.1f / %.1f MiB\n",
					atomic_load(&s.sent) / 1048576.0,
					(double)o->bytes * o->nflows / 1048576.0);
			last = now;
		}
		usleep(50000);
	}
	for (unsigned int j = 0; j < i; j++)
		pthread_join(flows[j].thread, NULL);
	rep->ns = tool_now_ns() - rep->ns;
	tool_cpu_ns(&usr, &sys);
	rep->usr_ns = usr - usr0;
	rep->sys_ns = sys - sys0;
	freeaddrinfo(s.ai);

	rep->cmd = "send";
	rep->nflows = o->nflows;
	rep->payload_bytes = atomic_load(&s.sent);
	rep->stream_bytes = rep->payload_bytes + (uint64_t)NS_HDR_SIZE * o->nflows;
	rep->sc[NS_SC_SEND] = atomic_load(&s.send_calls);
	rep->verify_ok = !atomic_load(&s.err);
	for (unsigned int j = 0; j < i; j++) {
		if (!flows[j].err)
			continue;
		tool_err("flow %u: %s", j, flows[j].msg);
		if (!rep->verify_msg[0])
			snprintf(rep->verify_msg, sizeof(rep->verify_msg), "flow %u: %s",
				 j, flows[j].msg);
	}
	return rep->verify_ok ? 0 : -EIO;
}
