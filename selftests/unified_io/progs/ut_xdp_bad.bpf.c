// SPDX-License-Identifier: GPL-2.0
/*
 * XDP programs the verifier must refuse (selftests/unified_io/bpf.c,
 * verifier_*): the region's bytes are reachable only inside [data, data_end)
 * and the metadata only inside [data_meta, data). ut_in_bounds is the
 * control: the same accesses with the bounds checked, which must load.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define DATA(ctx)	((__u8 *)(long)(ctx)->data)
#define DATA_END(ctx)	((__u8 *)(long)(ctx)->data_end)
#define META(ctx)	((__u8 *)(long)(ctx)->data_meta)

/* Every access is checked against its end. */
SEC("xdp")
int ut_in_bounds(struct xdp_md *ctx)
{
	__u8 *data = DATA(ctx), *meta = META(ctx);

	if (data + 16 > DATA_END(ctx) || meta + 24 > data)
		return XDP_ABORTED;
	data[15] = data[0] + meta[23];
	return XDP_PASS;
}

/* Reads one byte past the checked length. */
SEC("xdp")
int ut_read_past_end(struct xdp_md *ctx)
{
	__u8 *data = DATA(ctx);

	if (data + 16 > DATA_END(ctx))
		return XDP_ABORTED;
	return data[16] ? XDP_PASS : XDP_DROP;
}

/* Writes one byte past the checked length. */
SEC("xdp")
int ut_write_past_end(struct xdp_md *ctx)
{
	__u8 *data = DATA(ctx);

	if (data + 16 > DATA_END(ctx))
		return XDP_ABORTED;
	data[16] = 1;
	return XDP_PASS;
}

/* Reads the data without checking data_end at all. */
SEC("xdp")
int ut_read_unchecked(struct xdp_md *ctx)
{
	return DATA(ctx)[0] ? XDP_PASS : XDP_DROP;
}

/* Reads past the 24 checked metadata bytes (into the data). */
SEC("xdp")
int ut_read_past_meta(struct xdp_md *ctx)
{
	__u8 *meta = META(ctx);

	if (meta + 24 > DATA(ctx))
		return XDP_ABORTED;
	return meta[24] ? XDP_PASS : XDP_DROP;
}

/* Reads the metadata without checking it against data. */
SEC("xdp")
int ut_read_meta_unchecked(struct xdp_md *ctx)
{
	return META(ctx)[0] ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
