// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * stats.bpf.c - count the region buffers a chain runs over.
 *
 * Run by UNIFIED_IO_OP_BPF over one buffer; never changes it, always
 * XDP_PASS.  Per buffer: one more in "totals" (buffers, bytes, a log2
 * histogram of lengths) and in the "owners" entry of the buffer's owner tag,
 * read from the struct unified_io_bpf_meta at [data_meta, data).  See
 * unified_io_progs.h for the map layouts.  The maps outlive a region: they
 * belong to the loaded program, which user space reads and may reset.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "unified_io_progs.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct unio_stats_total);
} totals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, UNIO_STATS_MAX_OWNERS);
	__type(key, __u32);
	__type(value, struct unio_stats_owner);
} owners SEC(".maps");

/* floor(log2(len)) for len >= 1, 0 for 0; at most UNIO_STATS_HIST - 1. */
static __always_inline __u32 len_bucket(__u32 len)
{
	__u32 b = 0;

	if (len >> 16) { len >>= 16; b += 16; }
	if (len >> 8) { len >>= 8; b += 8; }
	if (len >> 4) { len >>= 4; b += 4; }
	if (len >> 2) { len >>= 2; b += 2; }
	if (len >> 1)
		b += 1;
	return b < UNIO_STATS_HIST ? b : UNIO_STATS_HIST - 1;
}

SEC("xdp")
int unio_stats(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct unified_io_bpf_meta *meta = (void *)(long)ctx->data_meta;
	__u32 len = data_end - data, key = 0, owner = 0;
	struct unio_stats_owner *o;
	struct unio_stats_total *t;

	if ((void *)(meta + 1) <= data)
		owner = meta->owner;

	t = bpf_map_lookup_elem(&totals, &key);
	if (!t)
		return XDP_PASS;
	__sync_fetch_and_add(&t->buffers, 1);
	__sync_fetch_and_add(&t->bytes, len);
	__sync_fetch_and_add(&t->hist[len_bucket(len)], 1);

	o = bpf_map_lookup_elem(&owners, &owner);
	if (!o) {
		struct unio_stats_owner zero = {};

		/* EEXIST: another CPU created it first; then look again. */
		bpf_map_update_elem(&owners, &owner, &zero, BPF_NOEXIST);
		o = bpf_map_lookup_elem(&owners, &owner);
	}
	if (!o) {
		__sync_fetch_and_add(&t->untracked, 1);
		return XDP_PASS;
	}
	__sync_fetch_and_add(&o->buffers, 1);
	__sync_fetch_and_add(&o->bytes, len);
	return XDP_PASS;
}
