// SPDX-License-Identifier: GPL-2.0-only
/*
 * recv --bpf-stats: the stats program of bpf/ (stats.bpf.c: counts buffers
 * and bytes, never changes them, always XDP_PASS) attached to the region,
 * so the pipeline runs wire -> region -> BPF (-> NVMe with --store) and the
 * stream's check still holds.
 *
 * native: RECV descriptors carry UNIFIED_IO_RECV_F_BPF and the module runs
 * the chain over every chunk that starts a buffer before posting it. The
 * other region modes queue one UNIFIED_IO_OP_BPF descriptor per such chunk
 * (ns_bpf_queue()) and submit them once per round (ns_bpf_submit()); the
 * region's CQ carries nothing else there.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "netstream.h"
#include "unified_io_progs.h"
#include "stats.skel.h"

struct ns_bpf {
	struct stats_bpf *skel;
	uint32_t prog_id;
	unsigned int queued;
};

int ns_bpf_open(struct ns_recv *rc)
{
	struct ns_bpf *b;
	int ret;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->skel = stats_bpf__open_and_load();
	if (!b->skel) {
		ret = -errno;
		tool_err("--bpf-stats: loading the stats program: %s", strerror(-ret));
		free(b);
		return ret;
	}
	ret = unio_bpf_attach(rc->r, bpf_program__fd(b->skel->progs.unio_stats),
			      &b->prog_id);
	if (ret) {
		tool_err("--bpf-stats: attach: %s",
			 tool_explain(UNIO_CALL_BPF_ATTACH, ret, NULL));
		stats_bpf__destroy(b->skel);
		free(b);
		return ret;
	}
	rc->bpf = b;
	rc->rep->bpf = true;
	return 0;
}

int ns_bpf_queue(struct ns_recv *rc, uint64_t buf_off, uint32_t len)
{
	struct unified_io_desc *d = unio_get_sqe(rc->q);
	int ret;

	if (!d) {
		ret = ns_bpf_submit(rc);
		if (ret)
			return ret;
		d = unio_get_sqe(rc->q);
		if (!d)
			return -EBUSY;
	}
	unio_prep_bpf(d, NS_OWNER, buf_off, len, buf_off);
	rc->bpf->queued++;
	return 0;
}

int ns_bpf_submit(struct ns_recv *rc)
{
	struct ns_bpf *b = rc->bpf;
	struct unified_io_cqe *cqe;
	int ret;

	if (!b->queued)
		return 0;
	rc->rep->sc[NS_SC_IOCTL]++;
	ret = unio_submit(rc->q);
	if (ret < 0) {
		tool_err("--bpf-stats: SUBMIT: %s", strerror(-ret));
		return ret;
	}
	rc->rep->bpf_runs_submitted += b->queued;
	b->queued = 0;
	ret = 0;
	while ((cqe = unio_peek_cqe(rc->q))) {
		if (!ret && (cqe->opcode != UNIFIED_IO_OP_BPF || cqe->res < 0 ||
			     unio_cqe_bpf_dropped(cqe, NULL))) {
			tool_err("--bpf-stats: BPF over buffer %#llx: %s", (unsigned long long)cqe->addr,
			       cqe->res < 0 ? strerror(-cqe->res) : "unexpected result");
			ret = cqe->res < 0 ? cqe->res : -EPROTO;
		}
		unio_cqe_seen(rc->q);
	}
	return ret;
}

int ns_bpf_run(struct ns_recv *rc, uint64_t buf_off, uint32_t len)
{
	int ret = ns_bpf_queue(rc, buf_off, len);

	return ret ? ret : ns_bpf_submit(rc);
}

void ns_bpf_read(struct ns_recv *rc)
{
	struct unio_stats_total t;
	uint32_t key = 0;

	if (!rc->bpf)
		return;
	if (!bpf_map_lookup_elem(bpf_map__fd(rc->bpf->skel->maps.totals), &key, &t)) {
		rc->rep->bpf_buffers = t.buffers;
		rc->rep->bpf_bytes = t.bytes;
	}
}

void ns_bpf_close(struct ns_recv *rc)
{
	if (!rc->bpf)
		return;
	stats_bpf__destroy(rc->bpf->skel);
	free(rc->bpf);
	rc->bpf = NULL;
}
