// SPDX-License-Identifier: GPL-2.0-only
/*
 * unio-netstream: send TCP streams with a checkable pattern, and receive them
 * into a unified_io region (or io_uring zcrx memory) in one of four ways,
 * checking every byte at its stream offset.
 *
 *	unio-netstream send HOST:PORT [--flows N] [--bytes SIZE] ...
 *	unio-netstream recv --mode native|zcrx|zcrx-region|recv --port P ...
 *
 * See unio-netstream(8) and --help. The receiver reports bytes, seconds,
 * MiB/s, the system calls of its receive loop (counted here; syscount
 * counts the same independently), the bytes copied on the way (by the
 * program's completions and by the kernel's own counters) and exits 1 when
 * any byte is wrong. JSON with -j; -o FILE stores it through a shared
 * mapping, so copycount does not count the report as a copy.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netstream.h"

/*
 * --armed's interrupt coalescing: COMPLETE returns with a quarter of the CQ
 * (--wait-batch) or after NS_WAIT_USECS, whichever comes first. The armed
 * RECVs go on filling the CQ while the loop sleeps, so a longer sleep costs
 * no throughput as long as the CQ and the lent buffers last; the batch wakes
 * the loop with three quarters of the CQ still free, and the time bounds
 * how long a chunk waits when traffic is slow (a batch of 1024 4 KiB chunks
 * takes 0.4 s at 10 MiB/s); the end of a stream does not wait for it (the
 * loop never waits for more completions than the stream headers promise). Measured on the test NIC (patched-7.3 under
 * TCG, MTU 9000, 1 and 4 flows, medians of three runs; the man page has the
 * figures), receive-loop system calls per MiB: 10 ms gave 2.8 and 0.26
 * (zcrx-region 8.1 and 1.3 in the same boot), 50 ms 1.4 and 0.20, 200 ms
 * 0.4 and 0.15; 50 us 6.3 and 3.9.
 */
#define NS_WAIT_USECS	200000

static void usage(FILE *f)
{
	fprintf(f,
"Usage: %s send HOST:PORT [--flows N] [--bytes SIZE] [OPTIONS]\n"
"       %s recv --mode MODE --port PORT [--flows N] [OPTIONS]\n"
"       %s help\n"
"\n"
"send: N flows in parallel, each a 64-byte header and SIZE payload bytes of a\n"
"pattern that depends on the flow and the stream offset.\n"
"  -n, --flows N        flows (default 1, at most %u)\n"
"  -b, --bytes SIZE     payload bytes per flow (default 64M; K, M, G)\n"
"      --seed N        pattern seed\n"
"      --chunk SIZE     bytes per send() (default 256K)\n"
"      --corrupt OFF    flip payload byte OFF of flow 0 (tests the receiver)\n"
"      --save DIR       also write each flow's bytes, as sent, to DIR/flow-N\n"
"  From NVMe instead (storage -> network, no copy): the streams a receiver\n"
"  stored (recv --store DEV --store-index FILE), read by passthrough into\n"
"  region buffers and sent from them by UNIFIED_IO_OP_SEND:\n"
"      --from-nvme DEV  the namespace they are on (/dev/ngXnY)\n"
"      --index FILE     where each chunk lies (recv --store-index)\n"
"      --bufs N         region buffers: slots read ahead or in flight (32)\n"
"      --bpf-redact OFF:LEN[:FILL]  attach bpf/redact.bpf.c: bytes [OFF,\n"
"                       OFF+LEN) of every slot become FILL (0) before sending\n"
"      --setup-only     set everything up, then stop (copycount's baseline)\n"
"\n"
"recv: accept N flows and receive them; every byte is checked.\n"
"  -m, --mode MODE      native       region bound to the NIC queue as its memory\n"
"                                    provider (NET_BIND), RECV into its buffers,\n"
"                                    buffers back through the refill ring; with\n"
"                                    --armed (the way to use it) one armed RECV\n"
"                                    per flow, otherwise poll() and a batch of\n"
"                                    RECVs per round\n"
"                       zcrx         io_uring zero-copy receive, anonymous area\n"
"                       zcrx-region  io_uring zero-copy receive, the region's\n"
"                                    data area as its area\n"
"                       recv         recv() into region buffers (ALLOC'd)\n"
"  -p, --port PORT      TCP port to listen on\n"
"      --addr ADDR      IPv4 address to listen on (default 0.0.0.0)\n"
"  -n, --flows N        connections to accept (default 1)\n"
"  -i, --ifname NAME    interface of the queue (native, zcrx, zcrx-region)\n"
"      --ifindex N      the same by index\n"
"  -q, --rxq N          receive queue (default 0); steer the port to it\n"
"      --zcrx-nodev     zcrx modes without a NIC queue (ZCRX_REG_NODEV): any\n"
"                       TCP socket, every byte copied (veth, tests)\n"
"      --no-bind        native without NET_BIND: RECV copies every byte into\n"
"                       region buffers, FREE gives them back (any TCP socket)\n"
"      --armed          native: arm one RECV per flow once (UNIFIED_IO_RECV_F_ARM);\n"
"                       completions are read from the CQ without a system call,\n"
"                       COMPLETE only when it is empty\n"
"      --wait-batch N   --armed: sleep until N completions are ready (default a\n"
"                       quarter of the CQ, at most half) ...\n"
"      --wait-usecs U   ... or U microseconds passed (default %u, 1 to 1000000)\n"
"      --ring RING      --armed: module    the region's own SQ and CQ (default)\n"
"                                io_uring  libunifiedio's io_uring: the region's\n"
"                                          operations as uring_cmd beside --store's\n"
"                                          NVMe passthrough, one completion queue\n"
"      --data-size SIZE data area / zcrx area (default 64M)\n"
"      --buf-size SIZE  recv mode: region buffer = bytes per recv() (default 64K)\n"
"      --nic-bufs N     native: buffers lent to the NIC (default 3/4)\n"
"      --cq N           completion queue entries (default 4096)\n"
"      --bpf-stats      run bpf/'s stats program over the received buffers\n"
"                       (native: UNIFIED_IO_RECV_F_BPF; recv, zcrx-region:\n"
"                       UNIFIED_IO_OP_BPF)\n"
"      --store DEV      write every received buffer to NVMe namespace DEV by\n"
"                       passthrough from the region, read it all back, check\n"
"      --store-layout slots|stream  slots (default): each buffer in a slot of\n"
"                       its own; stream (native): each flow contiguous from block\n"
"                       flow * (blocks / flows), gathered with SGLs, no copy\n"
"      --store-index FILE  with --store: write where each chunk lies (for\n"
"                       send --from-nvme)\n"
"      --expect-redact OFF:LEN[:FILL]  the sender ran --bpf-redact OFF:LEN:FILL\n"
"                       over the slots of --index FILE: check those bytes\n"
"                       against FILL, every other one against the pattern\n"
"      --index FILE     the store index the sender used (--expect-redact)\n"
"      --ready FILE     create FILE once listening\n"
"      --setup-only     set everything up and listen, then stop (the fixed\n"
"                       costs of a run, for copycount's baseline)\n"
"\n"
"Common:\n"
"  -j, --json           JSON report on standard output instead of text\n"
"  -o, --output FILE    write the report to FILE (through a shared mapping)\n"
"  -t, --timeout SEC    give up after SEC seconds without progress (default 60)\n"
"  -Q, --quiet          no progress on standard error\n"
"  -h, --help           this text\n"
"\n"
"Exit status: 0 when every byte arrived and matched, 1 otherwise, 2 on usage.\n",
		tool_name, tool_name, tool_name, NS_MAX_FLOWS, NS_WAIT_USECS);
}

/* The report, as JSON or text, into a memory stream. */
static void report_json(FILE *f, const struct ns_report *rep)
{
	double secs = rep->ns / 1e9, mib = rep->payload_bytes / 1048576.0;
	uint64_t total = 0;
	json_writer_t *w = jsonw_new(f);
	unsigned int i;

	for (i = 0; i < NR_NS_SC; i++)
		total += rep->sc[i];
	jsonw_pretty(w, true);
	jsonw_start_object(w);
	jsonw_string_field(w, "tool", tool_name);
	jsonw_string_field(w, "command", rep->cmd);
	if (rep->mode)
		jsonw_string_field(w, "mode", rep->mode);
	jsonw_uint_field(w, "flows", rep->nflows);
	jsonw_uint_field(w, "payload_bytes", rep->payload_bytes);
	jsonw_uint_field(w, "stream_bytes", rep->stream_bytes);
	jsonw_float_field(w, "seconds", secs);
	jsonw_float_field(w, "mib_per_s", secs > 0 ? mib / secs : 0);
	jsonw_float_field(w, "cpu_user_s", rep->usr_ns / 1e9);
	jsonw_float_field(w, "cpu_sys_s", rep->sys_ns / 1e9);
	if (rep->ifname[0] || rep->ifindex) {
		jsonw_name(w, "queue");
		jsonw_start_object(w);
		jsonw_string_field(w, "ifname", rep->ifname);
		jsonw_uint_field(w, "ifindex", rep->ifindex);
		jsonw_uint_field(w, "rxq", rep->rxq);
		jsonw_end_object(w);
	}
	if (rep->zcrx_nodev)
		jsonw_bool_field(w, "zcrx_nodev", true);
	jsonw_name(w, "syscalls");
	jsonw_start_object(w);
	jsonw_uint_field(w, "total", total);
	jsonw_float_field(w, "per_mib", mib > 0 ? total / mib : 0);
	jsonw_name(w, "by_name");
	jsonw_start_object(w);
	for (i = 0; i < NR_NS_SC; i++)
		if (rep->sc[i])
			jsonw_uint_field(w, ns_sc_names[i], rep->sc[i]);
	jsonw_end_object(w);
	/* Every system call of the loop, counted by the kernel. */
	jsonw_name(w, "kernel");
	if (rep->have_sc_kernel) {
		jsonw_start_object(w);
		jsonw_uint_field(w, "total", rep->sc_kernel);
		jsonw_float_field(w, "per_mib", mib > 0 ? rep->sc_kernel / mib : 0);
		jsonw_end_object(w);
	} else {
		jsonw_null(w);
	}
	if (rep->sc_kernel_why[0] && !rep->have_sc_kernel)
		jsonw_string_field(w, "kernel_unavailable", rep->sc_kernel_why);
	jsonw_end_object(w);
	if (rep->armed) {
		jsonw_name(w, "armed");
		jsonw_start_object(w);
		jsonw_uint_field(w, "wait_batch", rep->wait_batch);
		jsonw_uint_field(w, "wait_usecs", rep->wait_usecs);
		jsonw_string_field(w, "ring", rep->ring);
		jsonw_end_object(w);
	}
	if (!strcmp(rep->cmd, "recv")) {
		jsonw_name(w, "copies");
		jsonw_start_object(w);
		jsonw_uint_field(w, "chunks", rep->chunks);
		jsonw_uint_field(w, "copied_chunks", rep->copied_chunks);
		jsonw_uint_field(w, "copied_bytes", rep->copied_bytes);
		jsonw_float_field(w, "copied_per_byte", rep->stream_bytes ?
				  (double)rep->copied_bytes / rep->stream_bytes : 0);
		jsonw_name(w, "kernel");
		if (rep->kcopy_source) {
			jsonw_start_object(w);
			jsonw_string_field(w, "source", rep->kcopy_source);
			jsonw_uint_field(w, "chunks", rep->kcopy_chunks);
			jsonw_uint_field(w, "bytes", rep->kcopy_bytes);
			jsonw_end_object(w);
		} else {
			jsonw_null(w);
		}
		jsonw_end_object(w);
		jsonw_uint_field(w, "retries", rep->retries);
		if (rep->armed) {
			jsonw_uint_field(w, "retries_enospc", rep->retries_enospc);
			jsonw_uint_field(w, "retries_enobufs", rep->retries_enobufs);
		}
		if (rep->rq_flushes)
			jsonw_uint_field(w, "zcrx_rq_flushes", rep->rq_flushes);
	}
	if (rep->have_net_info) {
		const struct unified_io_net_info *n = &rep->net;

		jsonw_name(w, "net_info");
		jsonw_start_object(w);
		jsonw_string_field(w, "state", unio_net_state_name(n->state));
		jsonw_uint_field(w, "nr_bufs", n->nr_bufs);
		jsonw_uint_field(w, "bufs_app", n->bufs_app);
		jsonw_uint_field(w, "bufs_nic", n->bufs_nic);
		jsonw_uint_field(w, "recv_bytes", n->recv_bytes);
		jsonw_uint_field(w, "zc_chunks", n->zc_chunks);
		jsonw_uint_field(w, "zc_bytes", n->zc_bytes);
		jsonw_uint_field(w, "copy_chunks", n->copy_chunks);
		jsonw_uint_field(w, "copy_bytes", n->copy_bytes);
		jsonw_uint_field(w, "bpf_drops", n->bpf_drops);
		jsonw_uint_field(w, "refills", n->refills);
		jsonw_uint_field(w, "refill_bad_addr", n->refill_bad_addr);
		jsonw_uint_field(w, "refill_not_held", n->refill_not_held);
		jsonw_uint_field(w, "alloc_empty", n->alloc_empty);
		jsonw_uint_field(w, "nic_allocs", n->nic_allocs);
		jsonw_end_object(w);
	}
	if (rep->bpf) {
		jsonw_name(w, "bpf_stats");
		jsonw_start_object(w);
		jsonw_uint_field(w, "buffers", rep->bpf_buffers);
		jsonw_uint_field(w, "bytes", rep->bpf_bytes);
		jsonw_uint_field(w, "op_bpf_submitted", rep->bpf_runs_submitted);
		jsonw_end_object(w);
	}
	if (rep->store_dev) {
		jsonw_name(w, "store");
		jsonw_start_object(w);
		jsonw_string_field(w, "device", rep->store_dev);
		jsonw_uint_field(w, "writes", rep->store_writes);
		jsonw_uint_field(w, "bytes_written", rep->store_bytes);
		jsonw_uint_field(w, "bytes_read_back", rep->store_read_bytes);
		jsonw_uint_field(w, "submit_calls", rep->store_submits);
		jsonw_uint_field(w, "reap_calls", rep->store_reaps);
		jsonw_string_field(w, "layout", rep->store_stream ? "stream" : "slots");
		jsonw_uint_field(w, "lba_size", rep->store_lba);
		if (rep->store_stream) {
			jsonw_name(w, "streams");
			jsonw_start_array(w);
			for (unsigned int k = 0; k < rep->store_nstreams; k++) {
				jsonw_start_object(w);
				jsonw_uint_field(w, "flow", rep->store_streams[k].flow);
				jsonw_uint_field(w, "slba", rep->store_streams[k].slba);
				jsonw_uint_field(w, "bytes", rep->store_streams[k].bytes);
				jsonw_end_object(w);
			}
			jsonw_end_array(w);
			jsonw_uint_field(w, "nvme_commands", rep->store_commands);
			jsonw_uint_field(w, "copied_bytes", rep->store_copied_bytes);
			jsonw_uint_field(w, "pad_bytes", rep->store_pad_bytes);
		}
		jsonw_bool_field(w, "verified", rep->store_ok);
		jsonw_string_field(w, "detail", rep->store_msg);
		jsonw_end_object(w);
	}
	if (rep->nvme_dev) {
		const struct rs_stats *rs = &rep->rs;

		jsonw_name(w, "from_nvme");
		jsonw_start_object(w);
		jsonw_string_field(w, "device", rep->nvme_dev);
		jsonw_uint_field(w, "slot_size", rep->slot_size);
		jsonw_uint_field(w, "bufs", rep->bufs);
		jsonw_uint_field(w, "reads", rs->nvme_reads);
		jsonw_uint_field(w, "bytes_read", rs->nvme_bytes);
		jsonw_end_object(w);
		jsonw_name(w, "bpf");
		if (rep->bpf_prog) {
			jsonw_start_object(w);
			jsonw_string_field(w, "program", rep->bpf_prog);
			jsonw_uint_field(w, "redact_off", rep->redact_off);
			jsonw_uint_field(w, "redact_len", rep->redact_len);
			jsonw_uint_field(w, "redact_fill", rep->redact_fill);
			jsonw_uint_field(w, "send_f_bpf", rs->bpf_sends);
			jsonw_uint_field(w, "op_bpf", rs->bpf_ops);
			jsonw_end_object(w);
		} else {
			jsonw_null(w);
		}
		/* What the loop saw of its SENDs and their notifications. */
		jsonw_name(w, "sends");
		jsonw_start_object(w);
		jsonw_uint_field(w, "descriptors", rs->send_descs);
		jsonw_uint_field(w, "sends", rs->sends);
		jsonw_uint_field(w, "bytes", rs->bytes);
		jsonw_uint_field(w, "partial", rs->partial);
		jsonw_uint_field(w, "eagain", rs->eagain);
		jsonw_uint_field(w, "notifications", rs->notifs);
		jsonw_uint_field(w, "notifications_copied", rs->notifs_copied);
		jsonw_uint_field(w, "copied_bytes", rs->notif_copied_bytes);
		jsonw_uint_field(w, "max_in_flight", rs->max_inflight);
		jsonw_end_object(w);
		/* What the module counted: GET_INFO's struct unified_io_send_info. */
		jsonw_name(w, "send_info");
		if (rep->have_send_info) {
			const struct unified_io_send_info *si = &rep->send_info;

			jsonw_start_object(w);
			jsonw_uint_field(w, "sends", si->sends);
			jsonw_uint_field(w, "send_bytes", si->send_bytes);
			jsonw_uint_field(w, "notifs", si->notifs);
			jsonw_uint_field(w, "zc_bytes", si->zc_bytes);
			jsonw_uint_field(w, "copied_bytes", si->copied_bytes);
			jsonw_uint_field(w, "bpf_drops", si->bpf_drops);
			jsonw_uint_field(w, "inflight", si->inflight);
			jsonw_uint_field(w, "bufs_sending", si->bufs_sending);
			jsonw_end_object(w);
		} else {
			jsonw_null(w);
		}
	}
	jsonw_name(w, "verify");
	jsonw_start_object(w);
	jsonw_bool_field(w, "ok", rep->verify_ok);
	jsonw_uint_field(w, "mismatches", rep->mismatches);
	if (rep->expect_redact)
		jsonw_uint_field(w, "redacted_bytes", rep->redacted_bytes);
	jsonw_string_field(w, "detail", rep->verify_msg);
	jsonw_end_object(w);
	jsonw_end_object(w);
	jsonw_destroy(&w);
	fputc('\n', f);
}

static void report_text(FILE *f, const struct ns_report *rep)
{
	double secs = rep->ns / 1e9, mib = rep->payload_bytes / 1048576.0;
	uint64_t total = 0;
	unsigned int i;

	for (i = 0; i < NR_NS_SC; i++)
		total += rep->sc[i];
	fprintf(f, "%s%s%s: %u flow%s, %.2f MiB payload in %.3f s: %.1f MiB/s\n",
		rep->cmd, rep->mode ? " " : "", rep->mode ? rep->mode : "", rep->nflows,
		rep->nflows == 1 ? "" : "s", mib, secs, secs > 0 ? mib / secs : 0);
	fprintf(f, "  system calls of the %s loop: %" PRIu64 " (%.2f per MiB):",
		rep->cmd, total, mib > 0 ? total / mib : 0);
	for (i = 0; i < NR_NS_SC; i++)
		if (rep->sc[i])
			fprintf(f, " %s %" PRIu64, ns_sc_names[i], rep->sc[i]);
	fputc('\n', f);
	if (rep->have_sc_kernel)
		fprintf(f, "  counted by the kernel (every system call of the loop): %" PRIu64
			" (%.2f per MiB)\n", rep->sc_kernel, mib > 0 ? rep->sc_kernel / mib : 0);
	else if (rep->sc_kernel_why[0])
		fprintf(f, "  not counted by the kernel: %s\n", rep->sc_kernel_why);
	if (rep->armed)
		fprintf(f, "  armed RECV on the %s ring: waits for %u completions or %u us; "
			"re-armed %" PRIu64 " times (%" PRIu64 " CQ full, %" PRIu64 " no buffer)\n",
			rep->ring, rep->wait_batch, rep->wait_usecs, rep->retries,
			rep->retries_enospc, rep->retries_enobufs);
	if (!strcmp(rep->cmd, "recv")) {
		fprintf(f, "  chunks %" PRIu64 ", copied %" PRIu64 " chunks / %" PRIu64
			" bytes (%.3f per byte)\n", rep->chunks, rep->copied_chunks,
			rep->copied_bytes, rep->stream_bytes ?
			(double)rep->copied_bytes / rep->stream_bytes : 0);
		if (rep->kcopy_source)
			fprintf(f, "  kernel copy counter (%s): %" PRIu64 " chunks, %"
				PRIu64 " bytes\n", rep->kcopy_source, rep->kcopy_chunks,
				rep->kcopy_bytes);
	}
	if (rep->have_net_info) {
		const struct unified_io_net_info *n = &rep->net;

		fprintf(f, "  net: %s, %u buffers lent (%u app, %u nic), zero-copy %llu"
			" bytes, copied %llu bytes, refills %llu (bad %llu, not held %llu),"
			" NIC found none %llu\n", unio_net_state_name(n->state), n->nr_bufs,
			n->bufs_app, n->bufs_nic, (unsigned long long)n->zc_bytes,
			(unsigned long long)n->copy_bytes, (unsigned long long)n->refills,
			(unsigned long long)n->refill_bad_addr,
			(unsigned long long)n->refill_not_held,
			(unsigned long long)n->alloc_empty);
	}
	if (rep->bpf)
		fprintf(f, "  bpf stats program: %" PRIu64 " buffers, %" PRIu64 " bytes\n",
			rep->bpf_buffers, rep->bpf_bytes);
	if (rep->store_dev && rep->store_stream)
		fprintf(f, "  store %s, one stream per flow: %" PRIu64 " gathers in %" PRIu64
			" NVMe commands, %" PRIu64 " bytes written (%" PRIu64 " of them padding), %"
			PRIu64 " copied for alignment, %" PRIu64 " bytes read back: %s\n",
			rep->store_dev, rep->store_writes, rep->store_commands,
			rep->store_bytes, rep->store_pad_bytes, rep->store_copied_bytes,
			rep->store_read_bytes, rep->store_msg);
	else if (rep->store_dev)
		fprintf(f, "  store %s: %" PRIu64 " buffers written (%" PRIu64
			" bytes; %" PRIu64 " submit, %" PRIu64 " reap calls), %" PRIu64
			" bytes read back: %s\n", rep->store_dev, rep->store_writes,
			rep->store_bytes, rep->store_submits, rep->store_reaps,
			rep->store_read_bytes, rep->store_msg);
	if (rep->nvme_dev) {
		const struct rs_stats *rs = &rep->rs;

		fprintf(f, "  from %s: %" PRIu64 " slots of %u bytes read by passthrough into "
			"%u region buffers\n", rep->nvme_dev, rs->nvme_reads, rep->slot_size,
			rep->bufs);
		if (rep->bpf_prog)
			fprintf(f, "  bpf/%s.bpf.c: bytes [%u, %u) of each slot set to %#x (%"
				PRIu64 " SEND_F_BPF, %" PRIu64 " OP_BPF)\n", rep->bpf_prog,
				rep->redact_off, rep->redact_off + rep->redact_len,
				rep->redact_fill, rs->bpf_sends, rs->bpf_ops);
		fprintf(f, "  SEND: %" PRIu64 " descriptors, %" PRIu64 " queued %" PRIu64
			" bytes (%" PRIu64 " partial, %" PRIu64 " full socket), %" PRIu64
			" notifications (%" PRIu64 " copied, %" PRIu64 " bytes), at most %u"
			" in flight\n", rs->send_descs, rs->sends, rs->bytes, rs->partial,
			rs->eagain, rs->notifs, rs->notifs_copied, rs->notif_copied_bytes,
			rs->max_inflight);
		if (rep->have_send_info)
			fprintf(f, "  GET_INFO send: %llu sends, %llu bytes, %llu notifications, "
				"%llu bytes zero-copy, %llu copied by the stack\n",
				(unsigned long long)rep->send_info.sends,
				(unsigned long long)rep->send_info.send_bytes,
				(unsigned long long)rep->send_info.notifs,
				(unsigned long long)rep->send_info.zc_bytes,
				(unsigned long long)rep->send_info.copied_bytes);
	}
	if (rep->expect_redact)
		fprintf(f, "  redacted bytes found where expected: %" PRIu64 "\n",
			rep->redacted_bytes);
	fprintf(f, "  verify: %s%s%s\n", rep->verify_ok ? "ok" : "FAILED",
		rep->verify_msg[0] ? ": " : "", rep->verify_msg);
}

static int emit(const struct ns_report *rep, bool json, const char *output)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int ret = 0;

	if (!f)
		return -errno;
	if (json)
		report_json(f, rep);
	else
		report_text(f, rep);
	fclose(f);
	if (output) {
		ret = tool_store_file(output, buf, len);
		if (ret)
			tool_err("%s: %s", output, strerror(-ret));
	} else {
		fwrite(buf, 1, len, stdout);
	}
	free(buf);
	return ret;
}

/* Collect what the flows say into the report. */
/*
 * The value of the option getopt_long() just returned is not what it
 * takes (@fmt): say which option, the value and what it takes; exit 2.
 */
static int __attribute__((format(printf, 2, 3)))
ns_bad_value(char **argv, const char *fmt, ...)
{
	const char *opt = argv[optind - 1];
	char allowed[128];
	va_list ap;
	size_t n;

	/* "--opt value": two words; "--opt=value" and "-ovalue": one. */
	if (opt == optarg)
		opt = argv[optind - 2];
	n = strlen(opt);
	if ((uintptr_t)optarg > (uintptr_t)opt && (uintptr_t)optarg <= (uintptr_t)opt + n) {
		n = optarg - opt;
		if (opt[n - 1] == '=')
			n--;
	}
	va_start(ap, fmt);
	vsnprintf(allowed, sizeof(allowed), fmt, ap);
	va_end(ap);
	tool_err("bad value '%s' for %.*s: %s", optarg, (int)n, opt, allowed);
	fprintf(stderr, "Try '%s --help'.\n", tool_name);
	exit(2);
}

/* OFF:LEN[:FILL] of --bpf-redact and --expect-redact. */
static int ns_parse_redact(const char *arg, uint32_t *off, uint32_t *len, uint8_t *fill)
{
	char buf[64], *a = buf, *b, *c;
	uint64_t v;

	if (strlen(arg) >= sizeof(buf))
		return -1;
	strcpy(buf, arg);
	b = strchr(a, ':');
	if (!b)
		return -1;
	*b++ = '\0';
	c = strchr(b, ':');
	if (c)
		*c++ = '\0';
	if (tool_parse_size(a, &v) || v >= UNIFIED_IO_MAX_BUF_SIZE)
		return -1;
	*off = v;
	if (tool_parse_size(b, &v) || !v || v > UNIFIED_IO_MAX_BUF_SIZE)
		return -1;
	*len = v;
	*fill = 0;
	if (c) {
		if (tool_parse_uint(c, 255, &v))
			return -1;
		*fill = v;
	}
	return 0;
}

static void recv_finish(struct ns_recv *rc, int ret)
{
	struct ns_report *rep = rc->rep;
	unsigned int i;

	rep->nflows = rc->nflows;
	rep->verify_ok = !ret && rc->nflows == rc->o->nflows;
	for (i = 0; i < rc->nflows; i++) {
		const struct ns_flow *f = &rc->flows[i];

		rep->stream_bytes += f->stream_off;
		rep->payload_bytes += f->payload_ok;
		rep->mismatches += f->mismatches;
		rep->redacted_bytes += f->redacted;
		if (ns_flow_complete(f))
			continue;
		rep->verify_ok = false;
		if (rep->verify_msg[0])
			continue;
		if (!f->hdr_ok)
			snprintf(rep->verify_msg, sizeof(rep->verify_msg),
				 "flow %u: %s", i, f->bad_hdr ? "bad stream header" :
				 "ended before its header");
		else if (f->mismatches)
			snprintf(rep->verify_msg, sizeof(rep->verify_msg),
				 "flow %u (sender's flow %u): %" PRIu64 " bad chunks, first wrong "
				 "byte at stream offset %" PRIu64, i, f->hdr.flow,
				 f->mismatches, f->first_bad);
		else
			snprintf(rep->verify_msg, sizeof(rep->verify_msg),
				 "flow %u: %" PRIu64 " of %" PRIu64 " payload bytes", i,
				 f->payload_ok, f->hdr.bytes);
	}
	if (rep->verify_ok)
		snprintf(rep->verify_msg, sizeof(rep->verify_msg),
			 "every byte of %u flows at its stream offset", rc->nflows);
	else if (!rep->verify_msg[0])
		snprintf(rep->verify_msg, sizeof(rep->verify_msg), "%s (%u of %u flows)",
			 ret ? strerror(-ret) : "incomplete", rc->nflows, rc->o->nflows);
	if (rc->store && !rep->store_ok)
		rep->verify_ok = false;
}

static int do_recv(int argc, char **argv, struct ns_report *rep, bool *json,
		   const char **output)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "port", required_argument, NULL, 'p' },
		{ "addr", required_argument, NULL, 'A' },
		{ "flows", required_argument, NULL, 'n' },
		{ "ifname", required_argument, NULL, 'i' },
		{ "ifindex", required_argument, NULL, 'I' },
		{ "rxq", required_argument, NULL, 'q' },
		{ "zcrx-nodev", no_argument, NULL, 'N' },
		{ "no-bind", no_argument, NULL, 'O' },
		{ "data-size", required_argument, NULL, 'D' },
		{ "buf-size", required_argument, NULL, 'B' },
		{ "nic-bufs", required_argument, NULL, 'U' },
		{ "cq", required_argument, NULL, 'C' },
		{ "bpf-stats", no_argument, NULL, 'S' },
		{ "store", required_argument, NULL, 'W' },
		{ "store-index", required_argument, NULL, 'x' },
		{ "store-layout", required_argument, NULL, 'Y' },
		{ "index", required_argument, NULL, 'K' },
		{ "expect-redact", required_argument, NULL, 'E' },
		{ "ready", required_argument, NULL, 'R' },
		{ "setup-only", no_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'Q' },
		{ "help", no_argument, NULL, 'h' },
		{ "armed", no_argument, NULL, NS_OPT_ARMED },
		{ "wait-batch", required_argument, NULL, NS_OPT_WAIT_BATCH },
		{ "wait-usecs", required_argument, NULL, NS_OPT_WAIT_USECS },
		{ "ring", required_argument, NULL, NS_OPT_RING },
		{ 0 }
	};
	struct ns_recv_opts o = {
		.mode = NR_NS_MODES, .addr = "0.0.0.0", .nflows = 1,
		.data_size = 64ULL << 20, .buf_size = 64 << 10, .cq_entries = 4096,
		.timeout_s = 60, .wait_usecs = NS_WAIT_USECS,
	};
	struct ns_recv rc = { .o = &o, .rep = rep, .lfd = -1, .sc_perf_fd = -1 };
	bool wait_opt = false, ring_opt = false;
	struct ns_expect expect;
	struct ns_index ix;
	uint64_t v;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "m:p:n:i:q:jo:t:Qh", opts, NULL)) >= 0) {
		switch (opt) {
		case 'm':
			for (o.mode = 0; o.mode < NR_NS_MODES; o.mode++)
				if (!strcmp(optarg, ns_mode_names[o.mode]))
					break;
			if (o.mode == NR_NS_MODES)
				return ns_bad_value(argv, "native, zcrx, zcrx-region or recv");
			break;
		case 'p':
			if (tool_parse_uint(optarg, 65535, &v) || !v)
				return ns_bad_value(argv, "a port from 1 to 65535");
			o.port = v;
			break;
		case 'A': o.addr = optarg; break;
		case 'n':
			if (tool_parse_uint(optarg, NS_MAX_FLOWS, &v) || !v)
				return ns_bad_value(argv, "from 1 to %u", NS_MAX_FLOWS);
			o.nflows = v;
			break;
		case 'i': o.ifname = optarg; break;
		case 'I':
			if (tool_parse_uint(optarg, UINT32_MAX, &v))
				return ns_bad_value(argv, "an interface index");
			o.ifindex = v;
			break;
		case 'q':
			if (tool_parse_uint(optarg, UINT32_MAX, &v))
				return ns_bad_value(argv, "a queue number");
			o.rxq = v;
			break;
		case 'N': o.zcrx_nodev = true; break;
		case 'O': o.no_bind = true; break;
		case 'D':
			if (tool_parse_size(optarg, &v) || !v || v % 4096)
				return ns_bad_value(argv, "a non-zero multiple of 4K (K, M, G)");
			o.data_size = v;
			break;
		case 'B':
			if (tool_parse_size(optarg, &v) || v < 4096 || v > (2U << 20) || (v & (v - 1)))
				return ns_bad_value(argv, "a power of two from 4K to 2M");
			o.buf_size = v;
			break;
		case 'U':
			if (tool_parse_uint(optarg, UINT32_MAX, &v))
				return ns_bad_value(argv, "a number of buffers");
			o.nic_bufs = v;
			break;
		case 'C':
			if (tool_parse_uint(optarg, 32768, &v) || v < 64 || (v & (v - 1)))
				return ns_bad_value(argv, "a power of two from 64 to 32768");
			o.cq_entries = v;
			break;
		case 'S': o.bpf_stats = true; break;
		case 'W': o.store = optarg; break;
		case 'x': o.store_index = optarg; break;
		case 'Y':
			if (strcmp(optarg, "slots") && strcmp(optarg, "stream"))
				return ns_bad_value(argv, "slots or stream");
			o.store_stream = !strcmp(optarg, "stream");
			break;
		case 'K': o.index = optarg; break;
		case 'E':
			if (ns_parse_redact(optarg, &o.redact_off, &o.redact_len, &o.redact_fill))
				return ns_bad_value(argv, "OFF:LEN[:FILL], OFF below 2M, LEN "
						    "from 1 to 2M, FILL a byte");
			o.expect_redact = true;
			break;
		case 'R': o.ready = optarg; break;
		case 'P': o.setup_only = true; break;
		case 'j': *json = true; break;
		case 'o': *output = optarg; break;
		case 't':
			if (tool_parse_uint(optarg, 86400, &v) || !v)
				return ns_bad_value(argv, "from 1 to 86400 seconds");
			o.timeout_s = v;
			break;
		case 'Q': o.quiet = true; break;
		case 'h': usage(stdout); exit(0);
		case NS_OPT_ARMED: o.armed = true; break;
		case NS_OPT_WAIT_BATCH:
			if (tool_parse_uint(optarg, 16384, &v) || !v)
				return ns_bad_value(argv, "from 1 to 16384 completions (at most "
						    "half of --cq)");
			o.wait_batch = v;
			wait_opt = true;
			break;
		case NS_OPT_WAIT_USECS:
			if (tool_parse_uint(optarg, 1000000, &v) || !v)
				return ns_bad_value(argv, "from 1 to 1000000 microseconds");
			o.wait_usecs = v;
			wait_opt = true;
			break;
		case NS_OPT_RING:
			if (strcmp(optarg, "module") && strcmp(optarg, "io_uring"))
				return ns_bad_value(argv, "module or io_uring");
			o.ring_uring = !strcmp(optarg, "io_uring");
			ring_opt = true;
			break;
		default: goto usage;
		}
	}
	if (ring_opt && !o.armed) {
		tool_err("--ring is for --armed (a one-shot RECV has no io_uring form)");
		goto usage;
	}
	if (o.armed && o.mode != NS_NATIVE) {
		tool_err("--armed is for --mode native");
		goto usage;
	}
	if (wait_opt && !o.armed) {
		tool_err("--wait-batch and --wait-usecs are for --armed");
		goto usage;
	}
	if (!o.wait_batch)
		o.wait_batch = o.cq_entries / 4;
	if (o.wait_batch > o.cq_entries / 2) {
		tool_err("--wait-batch %u: at most half of the CQ (--cq %u): each armed RECV "
			 "keeps a slot for its final completion", o.wait_batch, o.cq_entries);
		goto usage;
	}
	if (o.store_index && !o.store) {
		tool_err("--store-index needs --store");
		goto usage;
	}
	if (o.store_stream && (!o.store || o.mode != NS_NATIVE || o.store_index)) {
		tool_err("--store-layout stream needs --store and --mode native, "
			 "and has no --store-index");
		goto usage;
	}
	if (!o.expect_redact != !o.index) {
		tool_err("--expect-redact and --index go together");
		goto usage;
	}
	if (optind != argc || o.mode == NR_NS_MODES || !o.port) {
		tool_err("recv needs --mode and --port%s", optind != argc ? ", and no operand" : "");
		goto usage;
	}
	if (o.zcrx_nodev && o.mode != NS_ZCRX && o.mode != NS_ZCRX_REGION) {
		tool_err("--zcrx-nodev is for the zcrx modes");
		goto usage;
	}
	if (o.no_bind && o.mode != NS_NATIVE) {
		tool_err("--no-bind is for --mode native");
		goto usage;
	}
	if (o.mode == NS_NATIVE || o.mode == NS_ZCRX_REGION) {
		/* The region's data area: page-size buffers (and the read-back ones). */
		uint64_t ps = sysconf(_SC_PAGESIZE), extra = 0, max;

		if (o.mode == NS_ZCRX_REGION)
			extra = (uint64_t)NS_ZCRX_READBACK_BUFS * ps;
		max = (uint64_t)UNIFIED_IO_MAX_BUFS * ps;
		if (max > UNIFIED_IO_MAX_DATA_SIZE)
			max = UNIFIED_IO_MAX_DATA_SIZE;
		max -= extra;
		if (o.data_size > max) {
			char b0[32], b1[32];

			tool_err("--data-size %s: at most %s with --mode %s (a region of "
				 "page-size buffers: at most %u buffers, UNIFIED_IO_MAX_BUFS, "
				 "and 1 GiB, UNIFIED_IO_MAX_DATA_SIZE%s)",
				 tool_size_str(o.data_size, b0, sizeof(b0)),
				 tool_size_str(max, b1, sizeof(b1)), ns_mode_names[o.mode],
				 UNIFIED_IO_MAX_BUFS, extra ? ", with the read-back buffers" : "");
			goto usage;
		}
	}
	rep->cmd = "recv";
	rep->mode = o.armed ? "native-armed" : ns_mode_names[o.mode];
	rep->armed = o.armed;
	rep->ring = o.ring_uring ? "io_uring" : "module";
	rep->wait_batch = o.wait_batch;
	rep->wait_usecs = o.wait_usecs;
	if (o.expect_redact) {
		ret = ns_index_open(o.index, &ix);
		if (!ret) {
			ret = ns_expect_build(&ix, o.redact_off, o.redact_len, o.redact_fill,
					      &expect);
			ns_index_close(&ix);
		}
		if (ret)
			return ret;
		ns_expect = &expect;
		rep->expect_redact = true;
	}
	switch (o.mode) {
	case NS_NATIVE:
		ret = ns_recv_native(&rc);
		break;
	case NS_ZCRX:
	case NS_ZCRX_REGION:
		ret = ns_recv_zcrx(&rc);
		break;
	default:
		ret = ns_recv_plain(&rc);
		break;
	}
	if (!rc.t0)
		ns_recv_start_clock(&rc);
	if (!rep->ns)
		ns_recv_stop_clock(&rc);
	if (o.setup_only && ret == -ECANCELED) {
		rep->verify_ok = true;
		snprintf(rep->verify_msg, sizeof(rep->verify_msg), "--setup-only: no transfer");
		ret = 0;
	} else {
		ns_recv_progress(&rc, true);
		recv_finish(&rc, ret);
	}
	if (rc.store && !rep->store_ok && !rep->store_msg[0])
		snprintf(rep->store_msg, sizeof(rep->store_msg), "not verified");
	if (o.store_index && rep->store_ok && !o.setup_only &&
	    ns_store_write_index(&rc, o.store_index)) {
		rep->verify_ok = false;
		snprintf(rep->store_msg, sizeof(rep->store_msg), "--store-index %s not written",
			 o.store_index);
	}
	for (unsigned int i = 0; i < rc.nflows; i++)
		if (rc.flows[i].fd >= 0)
			close(rc.flows[i].fd);
	if (rc.lfd >= 0)
		close(rc.lfd);
	ret = emit(rep, *json, *output);
	ns_store_close(&rc);
	ns_bpf_close(&rc);
	free(rc.held);
	unio_region_destroy(rc.r);
	if (ns_expect) {
		ns_expect = NULL;
		ns_expect_free(&expect);
	}
	return ret ? ret : (rep->verify_ok ? 0 : -EIO);
usage:
	fprintf(stderr, "Try '%s --help'.\n", tool_name);
	exit(2);
}

static int do_send(int argc, char **argv, struct ns_report *rep, bool *json,
		   const char **output)
{
	static const struct option opts[] = {
		{ "flows", required_argument, NULL, 'n' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "seed", required_argument, NULL, 's' },
		{ "chunk", required_argument, NULL, 'c' },
		{ "corrupt", required_argument, NULL, 'X' },
		{ "save", required_argument, NULL, 'V' },
		{ "from-nvme", required_argument, NULL, 'F' },
		{ "index", required_argument, NULL, 'K' },
		{ "bufs", required_argument, NULL, 'u' },
		{ "bpf-redact", required_argument, NULL, 'r' },
		{ "setup-only", no_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "output", required_argument, NULL, 'o' },
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'Q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct ns_send_opts o = {
		.nflows = 1, .bytes = 64ULL << 20, .seed = NS_DEFAULT_SEED,
		.chunk = 256 << 10, .timeout_s = 60, .corrupt = -1, .bufs = 32,
	};
	bool pattern_opt = false, nvme_opt = false;
	char *host, *colon;
	uint64_t v;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "n:b:jo:t:Qh", opts, NULL)) >= 0) {
		if (opt == 'n' || opt == 'b' || opt == 's' || opt == 'c' || opt == 'X')
			pattern_opt = true;
		switch (opt) {
		case 'n':
			if (tool_parse_uint(optarg, NS_MAX_FLOWS, &v) || !v)
				return ns_bad_value(argv, "from 1 to %u", NS_MAX_FLOWS);
			o.nflows = v;
			break;
		case 'b':
			if (tool_parse_size(optarg, &v))
				return ns_bad_value(argv, "a size (K, M, G)");
			o.bytes = v;
			break;
		case 's':
			if (tool_parse_uint(optarg, UINT64_MAX, &v))
				return ns_bad_value(argv, "a number");
			o.seed = v;
			break;
		case 'c':
			if (tool_parse_size(optarg, &v) || !v || v > (64U << 20))
				return ns_bad_value(argv, "from 1 to 64M");
			o.chunk = v;
			break;
		case 'X':
			if (tool_parse_size(optarg, &v) || v > INT64_MAX)
				return ns_bad_value(argv, "a byte offset");
			o.corrupt = v;
			break;
		case 'F': o.nvme = optarg; break;
		case 'V': o.save_dir = optarg; break;
		case 'K': o.index = optarg; break;
		case 'u':
			if (tool_parse_uint(optarg, 4096, &v) || v < 2)
				return ns_bad_value(argv, "from 2 to 4096 buffers");
			o.bufs = v;
			nvme_opt = true;
			break;
		case 'r':
			if (ns_parse_redact(optarg, &o.redact_off, &o.redact_len, &o.redact_fill))
				return ns_bad_value(argv, "OFF:LEN[:FILL], OFF below 2M, LEN "
						    "from 1 to 2M, FILL a byte");
			o.redact = true;
			nvme_opt = true;
			break;
		case 'P': o.setup_only = true; nvme_opt = true; break;
		case 'j': *json = true; break;
		case 'o': *output = optarg; break;
		case 't':
			if (tool_parse_uint(optarg, 86400, &v) || !v)
				return ns_bad_value(argv, "from 1 to 86400 seconds");
			o.timeout_s = v;
			break;
		case 'Q': o.quiet = true; break;
		case 'h': usage(stdout); exit(0);
		default: goto usage;
		}
	}
	if (optind != argc - 1) {
		tool_err("send needs HOST:PORT");
		goto usage;
	}
	host = argv[optind];
	colon = strrchr(host, ':');
	if (!colon || tool_parse_uint(colon + 1, 65535, &v) || !v) {
		tool_err("'%s' is not HOST:PORT", host);
		goto usage;
	}
	*colon = '\0';
	o.host = host;
	o.port = v;
	if (!o.nvme != !o.index) {
		tool_err("--from-nvme and --index go together");
		goto usage;
	}
	if (o.nvme && pattern_opt) {
		tool_err("--from-nvme sends what the index names: no --flows, --bytes, "
			 "--seed, --chunk or --corrupt");
		goto usage;
	}
	if (!o.nvme && nvme_opt) {
		tool_err("--bufs, --bpf-redact and --setup-only are for --from-nvme");
		goto usage;
	}
	if (o.nvme) {
		ret = ns_send_nvme(&o, rep);
		if (ret == -ECANCELED && o.setup_only) {
			rep->verify_ok = true;
			snprintf(rep->verify_msg, sizeof(rep->verify_msg),
				 "--setup-only: no transfer");
			ret = 0;
		}
		return emit(rep, *json, *output) ?: ret;
	}
	ret = ns_send(&o, rep);
	if (!rep->verify_msg[0] && !ret)
		snprintf(rep->verify_msg, sizeof(rep->verify_msg),
			 "%u flows sent and closed by the receiver", o.nflows);
	ret = emit(rep, *json, *output) ?: ret;
	return ret;
usage:
	fprintf(stderr, "Try '%s --help'.\n", tool_name);
	exit(2);
}

int main(int argc, char **argv)
{
	struct ns_report rep = { 0 };
	const char *output = NULL;
	bool json = false;
	int ret;

	tool_name = "unio-netstream";
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "send"))
		ret = do_send(argc - 1, argv + 1, &rep, &json, &output);
	else if (!strcmp(argv[1], "recv"))
		ret = do_recv(argc - 1, argv + 1, &rep, &json, &output);
	else {
		tool_err("unknown command '%s'", argv[1]);
		usage(stderr);
		return 2;
	}
	return ret ? 1 : 0;
}
