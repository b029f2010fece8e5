// SPDX-License-Identifier: GPL-2.0-only
/*
 * send --from-nvme DEV --index FILE: storage -> network with no copy.
 *
 * The streams a receiver stored (recv --store DEV --store-index FILE) are
 * sent again from the drive: every slot the index names is read by NVMe
 * passthrough (libunifiedio's UNIFIED_IO_OP_NVME, the data area being
 * io_uring fixed buffer 0) into a region buffer, optionally run through
 * bpf/redact.bpf.c attached to the region (--bpf-redact), and its chunks are
 * sent by UNIFIED_IO_OP_SEND from the buffer itself, each flow on its own
 * connection in stream order (tools/common/regsend.c runs the pipeline).
 * The bytes on the wire are the streams as they were received, header
 * included, so any receiver of this tool checks them; with --bpf-redact,
 * recv --expect-redact with the same index checks the redacted bytes too.
 *
 * Nothing of the payload passes through user memory: copycount run around
 * this command counts only its set-up (--setup-only measures that).
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "netstream.h"
#include "unified_io_progs.h"
#include "redact.skel.h"

static int ns_fail(struct ns_report *rep, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int ns_fail(struct ns_report *rep, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rep->verify_msg, sizeof(rep->verify_msg), fmt, ap);
	va_end(ap);
	tool_err("%s", rep->verify_msg);
	return err;
}

/* The plan: slot s of the index is blocks [s * lps, (s + 1) * lps). */
static int ns_plan_build(const struct ns_index *ix, struct rs_plan *p)
{
	const struct ns_index_hdr *h = ix->hdr;
	uint32_t lps = h->slot_size / h->lba_size;
	struct rs_slot *slots;
	struct rs_chunk *chunks;

	slots = calloc(h->nslots ? h->nslots : 1, sizeof(*slots));
	chunks = calloc(h->nentries, sizeof(*chunks));
	if (!slots || !chunks) {
		free(slots);
		free(chunks);
		return -ENOMEM;
	}
	for (uint64_t s = 0; s < h->nslots; s++)
		slots[s] = (struct rs_slot){ .slba = s * lps, .nlb = lps };
	for (uint64_t i = 0; i < h->nentries; i++) {
		const struct ns_index_entry *e = &ix->entries[i];
		uint32_t end = e->chunk_off + e->len;

		chunks[i] = (struct rs_chunk){ .conn = e->flow, .slot = e->slot,
			.off = e->chunk_off, .len = e->len };
		if (slots[e->slot].used < end)
			slots[e->slot].used = end;
	}
	*p = (struct rs_plan){ .slots = slots, .nslots = h->nslots, .chunks = chunks,
		.nchunks = h->nentries, .lba_size = h->lba_size };
	return 0;
}

int ns_send_nvme(const struct ns_send_opts *o, struct ns_report *rep)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	int fds[NS_MAX_FLOWS];
	struct ns_index ix;
	struct rs_plan plan = { 0 };
	struct unio_region *r = NULL;
	struct unio_queue *q;
	struct unio_nvme *ns = NULL;
	struct unio_nvme_info ni;
	struct redact_bpf *skel = NULL;
	uint64_t *bufs = NULL, usr0, sys0, usr, sys;
	unsigned int nflows = 0, nalloc = 0, i;
	uint32_t features = 0, prog_id;
	char port[16], msg[256];
	int ret;

	rep->cmd = "send";
	rep->mode = "nvme";
	rep->nvme_dev = o->nvme;
	rep->bufs = o->bufs;
	for (i = 0; i < NS_MAX_FLOWS; i++)
		fds[i] = -1;
	ret = ns_index_open(o->index, &ix);
	if (ret)
		return ns_fail(rep, ret, "--index %s: %s", o->index, strerror(-ret));
	nflows = ix.hdr->nflows;
	rep->nflows = nflows;
	rep->slot_size = ix.hdr->slot_size;
	for (i = 0; i < nflows; i++)
		rep->stream_bytes += ix.flows[i].stream_bytes;
	rep->payload_bytes = rep->stream_bytes - (uint64_t)NS_HDR_SIZE * nflows;

	ret = unio_get_features(NULL, &features);
	if (ret) {
		ret = ns_fail(rep, ret, "%s", tool_explain(UNIO_CALL_OPEN, ret, NULL));
		goto out;
	}
	if (!(features & UNIFIED_IO_FEAT_NET_SEND)) {
		ret = ns_fail(rep, -EOPNOTSUPP, "the unified_io module has no "
			      "UNIFIED_IO_FEAT_NET_SEND (features %#x): no zero-copy SEND",
			      features);
		goto out;
	}

	{
		uint64_t data_size = (uint64_t)o->bufs * ix.hdr->slot_size;

		if (tool_check_region(msg, sizeof(msg), "--bufs", data_size, "slot size",
				      ix.hdr->slot_size)) {
			ret = ns_fail(rep, -EINVAL, "%s", msg);
			goto out;
		}
		/* Room for a notification per SEND in flight, and the reads. */
		UNIO_OPTS(opts, .sq_entries = 256,
			  .cq_entries = rs_cq_entries(o->bufs, nflows),
			  .buf_size = ix.hdr->slot_size, .data_size = data_size);
		ret = unio_region_create(&opts, &r);
		if (ret) {
			ret = ns_fail(rep, ret, "region (%u buffers of %u bytes): %s", o->bufs,
				      ix.hdr->slot_size,
				      tool_explain(UNIO_CALL_SETUP, ret, &opts));
			goto out;
		}
	}
	q = unio_region_queue(r);
	bufs = calloc(o->bufs, sizeof(*bufs));
	if (!bufs) {
		ret = ns_fail(rep, -ENOMEM, "out of memory");
		goto out;
	}
	for (nalloc = 0; nalloc < o->bufs; nalloc++) {
		ret = unio_buf_alloc(q, NS_OWNER, &bufs[nalloc]);
		if (ret) {
			ret = ns_fail(rep, ret, "ALLOC: %s", strerror(-ret));
			goto out;
		}
	}
	ret = unio_nvme_open(r, o->nvme, NULL, &ns);
	if (ret) {
		ret = ns_fail(rep, ret, "--from-nvme %s: %s", o->nvme, strerror(-ret));
		goto out;
	}
	unio_nvme_get_info(ns, &ni);
	if (ni.lba_size != ix.hdr->lba_size) {
		ret = ns_fail(rep, -EINVAL, "--from-nvme %s: %u-byte blocks, the index was "
			      "written with %u-byte ones", o->nvme, ni.lba_size,
			      ix.hdr->lba_size);
		goto out;
	}
	ret = ns_plan_build(&ix, &plan);
	if (ret) {
		ret = ns_fail(rep, ret, "out of memory");
		goto out;
	}
	ret = rs_plan_check(&plan, nflows, ni.nr_lbas, ix.hdr->slot_size, msg, sizeof(msg));
	if (ret) {
		ret = ns_fail(rep, ret, "--index %s on %s: %s", o->index, o->nvme, msg);
		goto out;
	}
	if (o->redact) {
		skel = redact_bpf__open();
		if (!skel) {
			ret = ns_fail(rep, -errno, "--bpf-redact: opening bpf/redact.bpf.c: %s",
				      strerror(errno));
			goto out;
		}
		skel->rodata->redact_off = o->redact_off;
		skel->rodata->redact_len = o->redact_len;
		skel->rodata->redact_fill = o->redact_fill;
		ret = redact_bpf__load(skel);
		if (ret) {
			ret = ns_fail(rep, ret, "--bpf-redact: loading bpf/redact.bpf.c: %s",
				      strerror(-ret));
			goto out;
		}
		ret = unio_bpf_attach(r, bpf_program__fd(skel->progs.unio_redact), &prog_id);
		if (ret) {
			ret = ns_fail(rep, ret, "--bpf-redact: attach: %s",
				      tool_explain(UNIO_CALL_BPF_ATTACH, ret, NULL));
			goto out;
		}
		rep->bpf_prog = "redact";
		rep->redact_off = o->redact_off;
		rep->redact_len = o->redact_len;
		rep->redact_fill = o->redact_fill;
	}
	tool_info(o->quiet, "send: --from-nvme %s (nsid %u): %" PRIu64 " slots of %u bytes, "
		  "%" PRIu64 " chunks, %u flows, %u buffers%s", ni.char_dev, ni.nsid,
		  ix.hdr->nslots, ix.hdr->slot_size, ix.hdr->nentries, nflows, o->bufs,
		  o->redact ? ", bpf/redact.bpf.c attached" : "");
	if (o->setup_only) {
		ret = -ECANCELED;
		goto out;
	}

	snprintf(port, sizeof(port), "%u", o->port);
	ret = getaddrinfo(o->host, port, &hints, &ai);
	if (ret) {
		ret = ns_fail(rep, -EINVAL, "%s:%s: %s", o->host, port, gai_strerror(ret));
		ai = NULL;
		goto out;
	}
	tool_cpu_ns(&usr0, &sys0);
	for (i = 0; i < nflows; i++) {
		fds[i] = ns_connect(ai, o->timeout_s, msg, sizeof(msg));
		if (fds[i] < 0) {
			ret = ns_fail(rep, fds[i], "flow %u: %s", i, msg);
			goto out;
		}
	}
	{
		struct rs_opts ro = { .r = r, .fds = fds, .nconns = nflows, .bufs = bufs,
			.nbufs = o->bufs, .owner = NS_OWNER, .bpf = o->redact,
			.shutdown = true, .timeout_s = o->timeout_s, .quiet = o->quiet,
			.name = "send" };

		ret = rs_run(&plan, &ro, &rep->rs, msg, sizeof(msg));
	}
	rep->ns = rep->rs.ns;
	rep->sc[NS_SC_IOCTL] = rep->rs.submits;
	rep->sc[NS_SC_IO_URING_ENTER] = rep->rs.reaps;
	rep->sc[NS_SC_POLL] = rep->rs.polls;
	if (ret) {
		ns_fail(rep, ret, "%s", msg);
		goto out_info;
	}
	/* Everything is queued: wait for the receivers to close (all taken). */
	for (i = 0; i < nflows; i++) {
		char c;
		ssize_t n;

		while ((n = recv(fds[i], &c, 1, 0)) > 0)
			;
		if (n < 0) {
			ret = ns_fail(rep, -errno, "flow %u: waiting for the receiver to close: %s",
				      i, strerror(errno));
			break;
		}
	}
	tool_cpu_ns(&usr, &sys);
	rep->usr_ns = usr - usr0;
	rep->sys_ns = sys - sys0;
out_info:
	if (!unio_send_get_info(r, &rep->send_info))
		rep->have_send_info = true;
out:
	for (i = 0; i < NS_MAX_FLOWS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (ai)
		freeaddrinfo(ai);
	/* Destroying the region detaches the program and closes the namespace. */
	if (r && !ret)
		for (i = 0; i < nalloc; i++)
			unio_buf_free(q, NS_OWNER, bufs[i]);
	unio_region_destroy(r);
	redact_bpf__destroy(skel);
	free(bufs);
	free((void *)plan.slots);
	free((void *)plan.chunks);
	ns_index_close(&ix);
	if (!ret) {
		rep->verify_ok = true;
		snprintf(rep->verify_msg, sizeof(rep->verify_msg), "%u flows sent from %s "
			 "and closed by the receiver", nflows, o->nvme);
	}
	return ret;
}
