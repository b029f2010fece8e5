// SPDX-License-Identifier: GPL-2.0-only
/*
 * unified-io net: can a NIC receive queue take a region as its memory?
 *
 *	check dev IFNAME [rxq N] [bufs N]
 *
 * Sets up a small region of page-size buffers, binds it to the queue
 * (UNIFIED_IO_NET_BIND), shows the network side of GET_INFO, unbinds and
 * releases it: the queue restarts twice and keeps working. On failure the
 * kernel's reason (struct unified_io_net_bind @msg) is printed with the
 * errno. unio-netstream(8) moves data; this only answers the question.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <unifiedio.h>

#include "main.h"

static int do_net_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (help_json_null())
		return 0;
	fprintf(stderr,
		"Usage: %s [OPTIONS] net check dev IFNAME [rxq N] [bufs N]\n"
		"\n"
		"       Bind a throw-away region of page-size buffers to receive queue N\n"
		"       (default 0) of IFNAME as its memory provider (NET_BIND), show the\n"
		"       binding, unbind. Prints the kernel's reason when it refuses.\n"
		"       Needs CAP_NET_ADMIN and UNIFIED_IO_FEAT_NET_PROVIDER.\n",
		bin_name);
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

static const struct cmd net_cmds[] = {
	{ "check",	do_net_check },
	{ "help",	do_net_help },
	{ 0 }
};

int do_net(int argc, char **argv)
{
	return cmd_select(net_cmds, argc, argv, do_net_help, "net command");
}
