// SPDX-License-Identifier: GPL-2.0-only
/*
 * unified-io net: the region and the network.
 *
 *	check dev IFNAME [rxq N] [bufs N]
 *	send DEV HOST:PORT --lba L --length N [--buf-size S] [--bufs N]
 *	     [--redact OFF:LEN[:FILL]] [--timeout SEC]
 *
 * check sets up a small region of page-size buffers, binds it to the queue
 * (UNIFIED_IO_NET_BIND), shows the network side of GET_INFO, unbinds and
 * releases it: the queue restarts twice and keeps working. On failure the
 * kernel's reason (struct unified_io_net_bind @msg) is printed with the
 * errno.
 *
 * send is the storage -> network pipeline for any byte range of a namespace:
 * blocks [L, L + N) are read by NVMe passthrough into region buffers and
 * sent from them on one TCP connection by UNIFIED_IO_OP_SEND, with no copy
 * (tools/common/regsend.c: reads ahead, partial sends finished after
 * POLLOUT, a buffer reused only after its notifications); --redact attaches
 * bpf/redact.bpf.c and sends each buffer with UNIFIED_IO_SEND_F_BPF.
 * unio-netstream(8) sends and checks whole streams.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include <unifiedio.h>

#include "main.h"
#include "regsend.h"
#include "unified_io_progs.h"
#include "redact.skel.h"

#define NET_SEND_OWNER		0x4e54	/* "NT" */

static int do_net_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (help_json_null())
		return 0;
	fprintf(stderr,
		"Usage: %s [OPTIONS] net check dev IFNAME [rxq N] [bufs N]\n"
		"       %s [OPTIONS] net send DEV HOST:PORT --lba L --length N\n"
		"               [--buf-size SIZE] [--bufs N] [--redact OFF:LEN[:FILL]]\n"
		"               [--timeout SEC]\n"
		"\n"
		"       check: bind a throw-away region of page-size buffers to receive\n"
		"       queue N (default 0) of IFNAME as its memory provider (NET_BIND),\n"
		"       show the binding, unbind. Prints the kernel's reason when it\n"
		"       refuses. Needs CAP_NET_ADMIN and UNIFIED_IO_FEAT_NET_PROVIDER.\n"
		"\n"
		"       send: read N bytes from block L of NVMe namespace DEV by\n"
		"       passthrough into region buffers of SIZE bytes (default 64K; --bufs,\n"
		"       default 16, of them) and send them to HOST:PORT over TCP from the\n"
		"       buffers themselves (UNIFIED_IO_OP_SEND, no copy). --redact runs\n"
		"       bpf/redact.bpf.c over each buffer first (UNIFIED_IO_SEND_F_BPF):\n"
		"       bytes [OFF, OFF+LEN) of every buffer become FILL (default 0).\n"
		"       Needs UNIFIED_IO_FEAT_NET_SEND.\n",
		bin_name, bin_name);
	return 0;
}

static void print_net_info(const struct unified_io_net_info *n)
{
	if (json_output) {
		jsonw_name(json_wtr, "net");
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "state", unio_net_state_name(n->state));
		jsonw_uint_field(json_wtr, "ifindex", n->ifindex);
		jsonw_uint_field(json_wtr, "rxq", n->rxq);
		jsonw_uint_field(json_wtr, "nr_bufs", n->nr_bufs);
		jsonw_uint_field(json_wtr, "bufs_app", n->bufs_app);
		jsonw_uint_field(json_wtr, "bufs_nic", n->bufs_nic);
		jsonw_uint_field(json_wtr, "nic_allocs", n->nic_allocs);
		jsonw_uint_field(json_wtr, "alloc_empty", n->alloc_empty);
		jsonw_end_object(json_wtr);
		return;
	}
	printf("  state       %s (ifindex %u, queue %u)\n", unio_net_state_name(n->state),
	       n->ifindex, n->rxq);
	printf("  buffers     %u lent: %u held by the NIC side, %u by the application\n",
	       n->nr_bufs, n->bufs_nic, n->bufs_app);
	printf("  page pool   took %llu buffers, found none %llu times\n",
	       (unsigned long long)n->nic_allocs, (unsigned long long)n->alloc_empty);
}

static int do_net_check(int argc, char **argv)
{
	const char *ifname = NULL;
	uint32_t rxq = 0, bufs = 256, features = 0, ifindex;
	struct unified_io_net_info ni;
	struct unio_region *r;
	char msg[128];
	long ps = sysconf(_SC_PAGESIZE);
	int ret;

	while (argc) {
		if (is_prefix(*argv, "dev")) {
			NEXT_ARG();
			if (!REQ_ARGS(1))
				return -EINVAL;
			ifname = GET_ARG();
		} else if (is_prefix(*argv, "rxq")) {
			NEXT_ARG();
			if (!REQ_ARGS(1))
				return -EINVAL;
			if (parse_u32(*argv, &rxq))
				return p_usage("net check: rxq '%s': not a number", *argv);
			NEXT_ARG();
		} else if (is_prefix(*argv, "bufs")) {
			NEXT_ARG();
			if (!REQ_ARGS(1))
				return -EINVAL;
			if (parse_u32(*argv, &bufs) || bufs < 2 ||
			    bufs > UNIFIED_IO_MAX_BUFS)
				return p_usage("net check: bufs '%s': a number from 2 to %u",
					       *argv, UNIFIED_IO_MAX_BUFS);
			NEXT_ARG();
		} else {
			return p_usage("net check: unknown argument '%s' (expected dev, "
				       "rxq or bufs)", *argv);
		}
	}
	if (!ifname)
		return p_usage("net check needs dev IFNAME");
	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		p_err("interface %s: %s", ifname, strerror(errno));
		return -1;
	}
	ret = unio_get_features(NULL, &features);
	if (ret) {
		p_err("%s", tool_explain(UNIO_CALL_OPEN, ret, NULL));
		return -1;
	}

	UNIO_OPTS(opts, .sq_entries = 8, .buf_size = ps, .data_size = (uint64_t)bufs * ps);
	ret = unio_region_create(&opts, &r);
	if (ret) {
		p_err("creating a region of %u buffers: %s", bufs,
		      tool_explain(UNIO_CALL_SETUP, ret, &opts));
		return -1;
	}
	ret = unio_net_bind(r, ifindex, rxq, bufs / 2, msg, sizeof(msg));
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "ifname", ifname);
		jsonw_uint_field(json_wtr, "ifindex", ifindex);
		jsonw_uint_field(json_wtr, "rxq", rxq);
		jsonw_bool_field(json_wtr, "net_provider",
				 features & UNIFIED_IO_FEAT_NET_PROVIDER);
		jsonw_bool_field(json_wtr, "bound", !ret);
		if (ret) {
			jsonw_string_field(json_wtr, "error", strerror(-ret));
			jsonw_string_field(json_wtr, "reason", msg);
			jsonw_string_field(json_wtr, "explanation",
					   tool_explain(UNIO_CALL_NET_BIND, ret, NULL));
		}
	} else if (ret) {
		p_err("%s queue %u: NET_BIND refused: %s%s%s; %s", ifname, rxq,
		      strerror(-ret), msg[0] ? ": " : "", msg,
		      tool_explain(UNIO_CALL_NET_BIND, ret, NULL));
		if (!(features & UNIFIED_IO_FEAT_NET_PROVIDER))
			fprintf(stderr, "  (this kernel has no UNIFIED_IO_FEAT_NET_PROVIDER; "
				"io_uring zcrx can\n  still deliver into a region: "
				"unio-netstream recv --mode zcrx-region)\n");
	} else {
		printf("%s queue %u: NET_BIND ok, %u of %u buffers lent\n", ifname, rxq,
		       bufs / 2, bufs);
	}
	if (!ret) {
		if (!unio_net_get_info(r, &ni))
			print_net_info(&ni);
		ret = unio_net_unbind(r, msg, sizeof(msg));
		if (ret)
			p_err("NET_UNBIND: %s%s%s", strerror(-ret), msg[0] ? ": " : "", msg);
		else if (!json_output)
			printf("  unbound: the queue runs on ordinary memory again\n");
	}
	if (json_output)
		jsonw_end_object(json_wtr);
	unio_region_destroy(r);
	return ret ? -1 : 0;
}

struct net_send_opts {
	const char *dev;
	const char *host;
	const char *port;
	uint64_t lba, length, buf_size;
	uint32_t bufs;
	bool redact;
	uint32_t redact_off, redact_len;
	uint8_t redact_fill;
	uint32_t timeout_s;
	bool have_lba, have_length;
};

static int net_parse_redact(const char *arg, struct net_send_opts *o)
{
	char buf[64], *b, *c;
	uint64_t v;

	if (strlen(arg) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, arg);
	b = strchr(buf, ':');
	if (!b)
		return -EINVAL;
	*b++ = '\0';
	c = strchr(b, ':');
	if (c)
		*c++ = '\0';
	if (tool_parse_size(buf, &v) || v >= UNIFIED_IO_MAX_BUF_SIZE)
		return -EINVAL;
	o->redact_off = v;
	if (tool_parse_size(b, &v) || !v || v > UNIFIED_IO_MAX_BUF_SIZE)
		return -EINVAL;
	o->redact_len = v;
	o->redact_fill = 0;
	if (c) {
		if (tool_parse_uint(c, 255, &v))
			return -EINVAL;
		o->redact_fill = v;
	}
	return 0;
}

static int net_send_parse(int argc, char **argv, struct net_send_opts *o)
{
	static const struct option options[] = {
		{ "lba",	required_argument, NULL, 'l' },
		{ "length",	required_argument, NULL, 'n' },
		{ "buf-size",	required_argument, NULL, 'B' },
		{ "bufs",	required_argument, NULL, 'b' },
		{ "redact",	required_argument, NULL, 'r' },
		{ "timeout",	required_argument, NULL, 't' },
		{ 0 }
	};
	uint64_t page = sysconf(_SC_PAGESIZE), v;
	int opt, idx = 0;
	char msg[256], *colon;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", options, &idx)) >= 0) {
		switch (opt) {
		case 'l':
			/* A block number: no size suffix. */
			if (tool_parse_uint(optarg, UINT64_MAX, &o->lba))
				return p_usage("net send: --lba '%s': not a number", optarg);
			o->have_lba = true;
			break;
		case 'n':
			/* Below 2^62: the range checks below cannot wrap. */
			if (tool_parse_size(optarg, &o->length) || !o->length ||
			    o->length >> 62)
				return p_usage("net send: --length '%s': not a size above 0 "
					       "(NUMBER[K|M|G]) below 2^62", optarg);
			o->have_length = true;
			break;
		case 'B':
			if (tool_parse_size(optarg, &o->buf_size))
				return p_usage("net send: --buf-size '%s': not a size", optarg);
			break;
		case 'b':
			if (tool_parse_uint(optarg, 4096, &v) || v < 2)
				return p_usage("net send: --bufs '%s': a number from 2 to 4096",
					       optarg);
			o->bufs = v;
			break;
		case 'r':
			if (net_parse_redact(optarg, o))
				return p_usage("net send: --redact '%s': OFF:LEN[:FILL], OFF "
					       "below 2M, LEN from 1 to 2M, FILL a byte", optarg);
			o->redact = true;
			break;
		case 't':
			if (tool_parse_uint(optarg, 86400, &v) || !v)
				return p_usage("net send: --timeout '%s': from 1 to 86400 "
					       "seconds", optarg);
			o->timeout_s = v;
			break;
		default:
			return p_getopt_error("net send", opt, argv);
		}
	}
	if (argc - optind != 2)
		return p_usage("net send needs DEV and HOST:PORT%s",
			       argc - optind > 2 ? ", and nothing more" : "");
	o->dev = argv[optind];
	o->host = argv[optind + 1];
	colon = strrchr(argv[optind + 1], ':');
	if (!colon || tool_parse_uint(colon + 1, 65535, &v) || !v)
		return p_usage("net send: '%s' is not HOST:PORT", argv[optind + 1]);
	*colon = '\0';
	o->port = colon + 1;
	if (!o->have_lba)
		return p_usage("net send needs --lba");
	if (!o->have_length)
		return p_usage("net send needs --length N (bytes, > 0)");
	if (tool_check_pow2(msg, sizeof(msg), "--buf-size", o->buf_size,
			    page > 4096 ? page : 4096, UNIFIED_IO_MAX_BUF_SIZE))
		return p_usage("net send: %s", msg);
	if (o->bufs * o->buf_size > UNIFIED_IO_MAX_DATA_SIZE)
		return p_usage("net send: --bufs %u of --buf-size %" PRIu64 ": more than "
			       "the 1 GiB a region holds", o->bufs, o->buf_size);
	return 0;
}

static void net_send_report(const struct net_send_opts *o, const struct unio_nvme_info *ni,
			    const struct rs_stats *st, const struct unified_io_send_info *si,
			    bool have_si)
{
	double s = st->ns / 1e9;

	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "device", ni->char_dev);
		jsonw_uint_field(json_wtr, "nsid", ni->nsid);
		jsonw_uint_field(json_wtr, "lba", o->lba);
		jsonw_uint_field(json_wtr, "length", o->length);
		jsonw_string_field(json_wtr, "host", o->host);
		jsonw_string_field(json_wtr, "port", o->port);
		jsonw_uint_field(json_wtr, "buf_size", o->buf_size);
		jsonw_uint_field(json_wtr, "bufs", o->bufs);
		jsonw_float_field(json_wtr, "seconds", s);
		jsonw_uint_field(json_wtr, "nvme_reads", st->nvme_reads);
		jsonw_uint_field(json_wtr, "nvme_bytes", st->nvme_bytes);
		jsonw_name(json_wtr, "bpf");
		if (o->redact) {
			jsonw_start_object(json_wtr);
			jsonw_string_field(json_wtr, "program", "redact");
			jsonw_uint_field(json_wtr, "off", o->redact_off);
			jsonw_uint_field(json_wtr, "len", o->redact_len);
			jsonw_uint_field(json_wtr, "fill", o->redact_fill);
			jsonw_uint_field(json_wtr, "send_f_bpf", st->bpf_sends);
			jsonw_end_object(json_wtr);
		} else {
			jsonw_null(json_wtr);
		}
		jsonw_name(json_wtr, "sends");
		jsonw_start_object(json_wtr);
		jsonw_uint_field(json_wtr, "descriptors", st->send_descs);
		jsonw_uint_field(json_wtr, "sends", st->sends);
		jsonw_uint_field(json_wtr, "bytes", st->bytes);
		jsonw_uint_field(json_wtr, "partial", st->partial);
		jsonw_uint_field(json_wtr, "eagain", st->eagain);
		jsonw_uint_field(json_wtr, "notifications", st->notifs);
		jsonw_uint_field(json_wtr, "notifications_copied", st->notifs_copied);
		jsonw_uint_field(json_wtr, "copied_bytes", st->notif_copied_bytes);
		jsonw_uint_field(json_wtr, "max_in_flight", st->max_inflight);
		jsonw_end_object(json_wtr);
		jsonw_name(json_wtr, "send_info");
		if (have_si) {
			jsonw_start_object(json_wtr);
			jsonw_uint_field(json_wtr, "sends", si->sends);
			jsonw_uint_field(json_wtr, "send_bytes", si->send_bytes);
			jsonw_uint_field(json_wtr, "notifs", si->notifs);
			jsonw_uint_field(json_wtr, "zc_bytes", si->zc_bytes);
			jsonw_uint_field(json_wtr, "copied_bytes", si->copied_bytes);
			jsonw_uint_field(json_wtr, "bpf_drops", si->bpf_drops);
			jsonw_uint_field(json_wtr, "inflight", si->inflight);
			jsonw_uint_field(json_wtr, "bufs_sending", si->bufs_sending);
			jsonw_end_object(json_wtr);
		} else {
			jsonw_null(json_wtr);
		}
		jsonw_end_object(json_wtr);
		return;
	}
	printf("sent %" PRIu64 " bytes of %s (nsid %u) from block %" PRIu64 " to %s:%s in "
	       "%.3f s, %.1f MB/s\n", st->bytes, ni->char_dev, ni->nsid, o->lba, o->host,
	       o->port, s, s > 0 ? st->bytes / s / 1e6 : 0);
	printf("  drive: %" PRIu64 " passthrough reads into %u region buffers of %" PRIu64
	       " bytes\n", st->nvme_reads, o->bufs, o->buf_size);
	if (o->redact)
		printf("  bpf/redact.bpf.c: bytes [%u, %u) of each buffer set to %#x "
		       "(UNIFIED_IO_SEND_F_BPF)\n", o->redact_off,
		       o->redact_off + o->redact_len, o->redact_fill);
	printf("  SEND: %" PRIu64 " descriptors, %" PRIu64 " of them queued bytes (%" PRIu64
	       " partial, %" PRIu64 " met a full socket); %" PRIu64 " notifications, %"
	       PRIu64 " of them copied (%" PRIu64 " bytes); at most %u in flight\n",
	       st->send_descs, st->sends, st->partial, st->eagain, st->notifs,
	       st->notifs_copied, st->notif_copied_bytes, st->max_inflight);
	if (have_si)
		printf("  GET_INFO send: %llu bytes zero-copy, %llu copied by the stack\n",
		       (unsigned long long)si->zc_bytes, (unsigned long long)si->copied_bytes);
}

static int do_net_send(int argc, char **argv)
{
	struct net_send_opts o = { .buf_size = 64 << 10, .bufs = 16, .timeout_s = 60 };
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct unio_region *r = NULL;
	struct unio_queue *q;
	struct unio_nvme *ns;
	struct unio_nvme_info ni;
	struct redact_bpf *skel = NULL;
	struct rs_slot *slots = NULL;
	struct rs_chunk *chunks = NULL;
	struct rs_plan plan;
	struct rs_stats st = { 0 };
	uint64_t *bufs = NULL, nslots, lps;
	uint32_t features = 0, nalloc = 0, prog_id;
	char msg[256];
	int fd = -1, ret;

	/* argv[-1] is the command name, a program name for getopt. */
	ret = net_send_parse(argc + 1, argv - 1, &o);
	if (ret)
		return ret;
	ret = unio_get_features(NULL, &features);
	if (ret) {
		p_err("%s", tool_explain(UNIO_CALL_OPEN, ret, NULL));
		return -1;
	}
	if (!(features & UNIFIED_IO_FEAT_NET_SEND)) {
		p_err("the unified_io module has no UNIFIED_IO_FEAT_NET_SEND (features %#x): "
		      "no zero-copy SEND", features);
		return -1;
	}
	UNIO_OPTS(opts, .sq_entries = 256, .cq_entries = rs_cq_entries(o.bufs, 1),
		  .buf_size = o.buf_size,
		  .data_size = (uint64_t)o.bufs * o.buf_size);
	ret = unio_region_create(&opts, &r);
	if (ret) {
		p_err("creating a region of %u buffers: %s", o.bufs,
		      tool_explain(UNIO_CALL_SETUP, ret, &opts));
		return -1;
	}
	q = unio_region_queue(r);
	ret = -ENOMEM;
	bufs = calloc(o.bufs, sizeof(*bufs));
	if (!bufs) {
		p_err("out of memory");
		goto out;
	}
	for (nalloc = 0; nalloc < o.bufs; nalloc++) {
		ret = unio_buf_alloc(q, NET_SEND_OWNER, &bufs[nalloc]);
		if (ret) {
			p_err("ALLOC: %s", strerror(-ret));
			goto out;
		}
	}
	ret = unio_nvme_open(r, o.dev, NULL, &ns);
	if (ret) {
		p_err("%s: %s", o.dev, strerror(-ret));
		goto out;
	}
	unio_nvme_get_info(ns, &ni);
	if (o.lba >= ni.nr_lbas ||
	    (o.length + ni.lba_size - 1) / ni.lba_size > ni.nr_lbas - o.lba) {
		ret = -EINVAL;
		p_err("%s: %" PRIu64 " bytes from block %" PRIu64 " run past its %" PRIu64
		      " blocks of %u bytes", ni.char_dev, o.length, o.lba, ni.nr_lbas,
		      ni.lba_size);
		goto out;
	}
	lps = o.buf_size / ni.lba_size;
	nslots = (o.length + o.buf_size - 1) / o.buf_size;
	slots = calloc(nslots, sizeof(*slots));
	chunks = calloc(nslots, sizeof(*chunks));
	if (!slots || !chunks) {
		ret = -ENOMEM;
		p_err("out of memory");
		goto out;
	}
	for (uint64_t i = 0; i < nslots; i++) {
		uint64_t left = o.length - i * o.buf_size;
		uint32_t len = left < o.buf_size ? left : o.buf_size;

		slots[i] = (struct rs_slot){ .slba = o.lba + i * lps,
			.nlb = (len + ni.lba_size - 1) / ni.lba_size, .used = len };
		chunks[i] = (struct rs_chunk){ .conn = 0, .slot = i, .off = 0, .len = len };
	}
	plan = (struct rs_plan){ .slots = slots, .nslots = nslots, .chunks = chunks,
		.nchunks = nslots, .lba_size = ni.lba_size };
	ret = rs_plan_check(&plan, 1, ni.nr_lbas, o.buf_size, msg, sizeof(msg));
	if (ret) {
		p_err("%s", msg);
		goto out;
	}
	if (o.redact) {
		skel = redact_bpf__open();
		if (!skel) {
			ret = -errno;
			p_err("opening bpf/redact.bpf.c: %s", strerror(errno));
			goto out;
		}
		skel->rodata->redact_off = o.redact_off;
		skel->rodata->redact_len = o.redact_len;
		skel->rodata->redact_fill = o.redact_fill;
		ret = redact_bpf__load(skel);
		if (ret) {
			p_err("loading bpf/redact.bpf.c: %s", strerror(-ret));
			goto out;
		}
		ret = unio_bpf_attach(r, bpf_program__fd(skel->progs.unio_redact), &prog_id);
		if (ret) {
			p_err("attaching bpf/redact.bpf.c: %s",
			      tool_explain(UNIO_CALL_BPF_ATTACH, ret, NULL));
			goto out;
		}
	}
	ret = getaddrinfo(o.host, o.port, &hints, &ai);
	if (ret) {
		p_err("%s:%s: %s", o.host, o.port, gai_strerror(ret));
		ai = NULL;
		ret = -EINVAL;
		goto out;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		ret = -errno;
		p_err("connecting to %s:%s: %s", o.host, o.port, strerror(errno));
		goto out;
	}
	{
		struct rs_opts ro = { .r = r, .fds = &fd, .nconns = 1, .bufs = bufs,
			.nbufs = o.bufs, .owner = NET_SEND_OWNER, .bpf = o.redact,
			.shutdown = true, .timeout_s = o.timeout_s,
			.quiet = json_output || !isatty(STDERR_FILENO), .name = "net send" };

		ret = rs_run(&plan, &ro, &st, msg, sizeof(msg));
	}
	if (ret) {
		p_err("%s", msg);
		goto out;
	}
	{
		/*
		 * Every notification is in: the stack holds none of the
		 * region's pages (over a NIC, the peer has acknowledged every
		 * byte; a copied one was only copied).
		 */
		struct unified_io_send_info si;
		bool have_si = !unio_send_get_info(r, &si);

		net_send_report(&o, &ni, &st, &si, have_si);
	}
out:
	if (fd >= 0)
		close(fd);
	if (ai)
		freeaddrinfo(ai);
	if (!ret)
		for (uint32_t i = 0; i < nalloc; i++)
			unio_buf_free(q, NET_SEND_OWNER, bufs[i]);
	unio_region_destroy(r);
	redact_bpf__destroy(skel);
	free(slots);
	free(chunks);
	free(bufs);
	return ret ? -1 : 0;
}

static const struct cmd net_cmds[] = {
	{ "check",	do_net_check },
	{ "send",	do_net_send },
	{ "help",	do_net_help },
	{ 0 }
};

int do_net(int argc, char **argv)
{
	return cmd_select(net_cmds, argc, argv, do_net_help, "net command");
}
