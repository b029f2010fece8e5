// SPDX-License-Identifier: GPL-2.0-only
/*
 * unified-io: inspect and exercise unified_io regions.
 *
 *	unified-io [OPTIONS] OBJECT COMMAND [ARGS]
 *
 * Objects are dispatched through a command table as in bpftool: every
 * object and command may be abbreviated to a unique prefix.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unifiedio.h>

#include "main.h"

const char *bin_name;
bool json_output;
bool pretty_output;
json_writer_t *json_wtr;

const struct feature_desc feature_descs[] = {
	{ UNIFIED_IO_FEAT_SQ_RING,	 "sq_ring",	  "batched SUBMIT from the SQ" },
	{ UNIFIED_IO_FEAT_INLINE_SUBMIT, "inline_submit", "SUBMIT of one inline descriptor" },
	{ UNIFIED_IO_FEAT_WAIT,		 "wait",	  "COMPLETE waits with a timeout" },
	{ UNIFIED_IO_FEAT_POLL,		 "poll",	  "poll() readiness" },
	{ UNIFIED_IO_FEAT_HUGE_PAGES,	 "huge_pages",	  "2 MiB pages for the data area" },
	{ UNIFIED_IO_FEAT_BUF_OWNERS,	 "buf_owners",	  "ALLOC/FREE with owner tags" },
	{ UNIFIED_IO_FEAT_BPF,		 "bpf",		  "BPF chains run over buffers in place" },
	{ UNIFIED_IO_FEAT_NET_RECV,	 "net_recv",	  "RECV from TCP sockets into buffers" },
	{ UNIFIED_IO_FEAT_NET_PROVIDER,	 "net_provider",  "NIC queue memory provider (NET_BIND)" },
};
const unsigned int nr_feature_descs = sizeof(feature_descs) / sizeof(feature_descs[0]);

void print_feature_names_json(uint32_t features)
{
	unsigned int i;

	jsonw_start_array(json_wtr);
	for (i = 0; i < nr_feature_descs; i++)
		if (features & feature_descs[i].bit)
			jsonw_string(json_wtr, feature_descs[i].name);
	for (i = 0; i < 32; i++) {
		char name[32];

		if (!(features & ~UNIFIED_IO_FEATURES & (1U << i)))
			continue;
		snprintf(name, sizeof(name), "bit%u", i);
		jsonw_string(json_wtr, name);
	}
	jsonw_end_array(json_wtr);
}

void print_feature_names_plain(uint32_t features)
{
	const char *sep = "";
	unsigned int i;

	for (i = 0; i < nr_feature_descs; i++) {
		if (!(features & feature_descs[i].bit))
			continue;
		printf("%s%s", sep, feature_descs[i].name);
		sep = " ";
	}
	for (i = 0; i < 32; i++) {
		if (!(features & ~UNIFIED_IO_FEATURES & (1U << i)))
			continue;
		printf("%sbit%u", sep, i);
		sep = " ";
	}
}

void p_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (json_output && json_wtr) {
		char msg[512];

		vsnprintf(msg, sizeof(msg), fmt, ap);
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "error", msg);
		jsonw_end_object(json_wtr);
	} else {
		fprintf(stderr, "Error: ");
		vfprintf(stderr, fmt, ap);
		fprintf(stderr, "\n");
	}
	va_end(ap);
}

void p_info(const char *fmt, ...)
{
	va_list ap;

	if (json_output)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

/* With --json, help is a null; true when that was written (help done). */
bool help_json_null(void)
{
	if (!json_output)
		return false;
	jsonw_null(json_wtr);
	return true;
}

bool is_prefix(const char *pfx, const char *str)
{
	size_t len = strlen(pfx);

	return len && len <= strlen(str) && !memcmp(str, pfx, len);
}

int cmd_select(const struct cmd *cmds, int argc, char **argv,
	       int (*help)(int argc, char **argv))
{
	const struct cmd *match = NULL;
	unsigned int i;

	if (argc < 1 && cmds[0].func)
		return cmds[0].func(argc, argv);

	for (i = 0; cmds[i].cmd; i++) {
		if (!strcmp(*argv, cmds[i].cmd))
			return cmds[i].func(argc - 1, argv + 1);
		if (!is_prefix(*argv, cmds[i].cmd))
			continue;
		if (match) {
			p_err("'%s' is ambiguous: %s or %s", *argv,
			      match->cmd, cmds[i].cmd);
			return -1;
		}
		match = &cmds[i];
	}
	if (match)
		return match->func(argc - 1, argv + 1);

	help(argc - 1, argv + 1);
	return -1;
}

int parse_u32(const char *str, uint32_t *out)
{
	uint64_t v;
	int ret = tool_parse_uint(str, UINT32_MAX, &v);

	if (!ret)
		*out = v;
	return ret;
}

const char *fmt_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned int u = 0;

	while (u < 4 && bytes && !(bytes & 1023)) {
		bytes >>= 10;
		u++;
	}
	snprintf(buf, len, "%" PRIu64 " %s", bytes, units[u]);
	return buf;
}

static int do_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (help_json_null())
		return 0;
	fprintf(stderr,
		"Usage: %s [OPTIONS] OBJECT { COMMAND | help }\n"
		"       %s version\n"
		"\n"
		"       OBJECT := { feature | region | nvme | bpf | net }\n"
		"       OPTIONS := { -j|--json [-p|--pretty] | -h|--help | -V|--version }\n"
		"\n"
		"See '%s OBJECT help' and unified-io(8).\n",
		bin_name, bin_name, bin_name);
	return 0;
}

static int do_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "version", UNIO_TOOL_VERSION);
		jsonw_uint_field(json_wtr, "abi_version", UNIFIED_IO_ABI_VERSION);
		jsonw_name(json_wtr, "libunifiedio");
		jsonw_start_object(json_wtr);
		jsonw_uint_field(json_wtr, "major", UNIO_VERSION_MAJOR);
		jsonw_uint_field(json_wtr, "minor", UNIO_VERSION_MINOR);
		jsonw_end_object(json_wtr);
		jsonw_end_object(json_wtr);
	} else {
		printf("%s v%s\n", bin_name, UNIO_TOOL_VERSION);
		printf("using libunifiedio v%d.%d, ABI version %d\n",
		       UNIO_VERSION_MAJOR, UNIO_VERSION_MINOR, UNIFIED_IO_ABI_VERSION);
	}
	return 0;
}

static const struct cmd main_cmds[] = {
	{ "help",	do_help },
	{ "feature",	do_feature },
	{ "region",	do_region },
	{ "nvme",	do_nvme },
	{ "bpf",	do_bpf },
	{ "net",	do_net },
	{ "version",	do_version },
	{ 0 }
};

/* -j and -p are accepted after the command too: "region demo --huge -j". */
bool parse_global_opt(int opt)
{
	switch (opt) {
	case 'j':
		json_output = true;
		return true;
	case 'p':
		json_output = true;
		pretty_output = true;
		jsonw_pretty(json_wtr, true);
		return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json",	no_argument,	NULL,	'j' },
		{ "pretty",	no_argument,	NULL,	'p' },
		{ "help",	no_argument,	NULL,	'h' },
		{ "version",	no_argument,	NULL,	'V' },
		{ 0 }
	};
	bool version_requested = false, help_requested = false;
	int opt, ret;

	bin_name = "unified-io";
	/* The writer exists before any option so p_err() and -p can use it. */
	json_wtr = jsonw_new(stdout);
	if (!json_wtr) {
		fprintf(stderr, "Error: out of memory\n");
		return 1;
	}

	/* "+": stop at OBJECT, commands parse their own options. */
	while ((opt = getopt_long(argc, argv, "+jphV", options, NULL)) >= 0) {
		if (parse_global_opt(opt))
			continue;
		switch (opt) {
		case 'h':
			help_requested = true;
			break;
		case 'V':
			version_requested = true;
			break;
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n",
				bin_name);
			free(json_wtr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;

	if (version_requested) {
		ret = do_version(argc, argv);
	} else if (help_requested || argc < 1) {
		ret = do_help(argc, argv);
		if (!help_requested)
			ret = 2;
	} else {
		ret = cmd_select(main_cmds, argc, argv, do_help);
	}

	if (json_output)
		jsonw_destroy(&json_wtr);
	else
		free(json_wtr);
	return ret ? 1 : 0;
}
