// SPDX-License-Identifier: GPL-2.0-only
/*
 * recv --mode recv: the baseline. One region buffer per flow (ALLOC'd,
 * FREE'd at the end); recv() copies the bytes into it, as an application
 * with its buffers in the region but no zero-copy path would. poll() tells
 * which sockets have data; a readable socket is read again while recv()
 * fills the whole buffer.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "netstream.h"

#define NS_PLAIN_MAX_READS	16

int ns_recv_plain(struct ns_recv *rc)
{
	const struct ns_recv_opts *o = rc->o;
	struct ns_report *rep = rc->rep;
	uint64_t bufs[NS_MAX_FLOWS];
	struct pollfd pfds[NS_MAX_FLOWS];
	unsigned int map[NS_MAX_FLOWS], i, nalloc = 0;
	uint32_t bs = o->buf_size;
	int ret, n;

	ret = ns_region_create(rc, bs, (uint64_t)bs * (o->nflows + 8), 64);
	if (ret)
		return ret;
	for (i = 0; i < o->nflows; i++) {
		ret = unio_buf_alloc(rc->q, NS_OWNER, &bufs[i]);
		if (ret) {
			tool_err("ALLOC: %s", strerror(-ret));
			goto out;
		}
		nalloc++;
	}
	if (o->store) {
		ret = ns_store_open(rc, bs);
		if (ret)
			goto out;
	}
	if (o->bpf_stats) {
		ret = ns_bpf_open(rc);
		if (ret)
			goto out;
	}
	ret = ns_recv_listen(rc);
	if (!ret)
		ret = ns_recv_accept_all(rc);
	if (ret)
		goto out;

	while ((n = ns_poll_flows(rc, pfds, map)) > 0) {
		for (int k = 0; k < n; k++) {
			struct ns_flow *f = &rc->flows[map[k]];
			void *buf = unio_data_ptr(rc->q, bufs[f->slot]);

			if (!pfds[k].revents)
				continue;
			for (int reads = 0; reads < NS_PLAIN_MAX_READS; reads++) {
				uint64_t soff = f->stream_off;
				ssize_t got;

				rep->sc[NS_SC_RECV]++;
				got = recv(f->fd, buf, bs, 0);
				if (got < 0) {
					if (errno == EAGAIN || errno == EINTR)
						break;
					ret = -errno;
					tool_err("flow %u: recv: %s", f->slot, strerror(errno));
					goto out;
				}
				if (!got) {
					ns_flow_eof(rc, f);
					break;
				}
				rep->chunks++;
				rep->copied_chunks++;
				rep->copied_bytes += got;
				ns_flow_consume(f, buf, got);
				if (rc->bpf) {
					ret = ns_bpf_run(rc, bufs[f->slot], got);
					if (ret)
						goto out;
				}
				if (rc->store) {
					ret = ns_store_add(rc, f, bufs[f->slot], 0, got, soff);
					if (!ret)
						ret = ns_store_flush(rc);
					if (ret)
						goto out;
				}
				if (got < bs)
					break;
			}
		}
		ns_recv_progress(rc, false);
	}
	ret = n;
	ns_recv_stop_clock(rc);
	rep->kcopy_source = "recv() copies every byte (copy_to_user)";
	rep->kcopy_chunks = rep->copied_chunks;
	rep->kcopy_bytes = rep->copied_bytes;
	if (!ret && rc->store)
		ret = ns_store_verify(rc, bufs, nalloc);
out:
	if (rc->bpf)
		ns_bpf_read(rc);
	for (i = 0; i < nalloc; i++)
		unio_buf_free(rc->q, NS_OWNER, bufs[i]);
	return ret;
}
