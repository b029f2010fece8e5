// SPDX-License-Identifier: GPL-2.0-only
/*
 * unified-io feature: what the running kernel's unified_io supports, from
 * UNIFIED_IO_GET_INFO on a fresh open (a context without a region).
 */
#include <stdio.h>
#include <string.h>

#include <unifiedio.h>

#include "main.h"

static int do_feature_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (help_json_null())
		return 0;
	fprintf(stderr,
		"Usage: %s [OPTIONS] feature [show] [dev PATH]\n"
		"\n"
		"       Print the ABI version and UNIFIED_IO_FEAT_* features\n"
		"       reported by GET_INFO (default device %s).\n",
		bin_name, UNIFIED_IO_DEVICE);
	return 0;
}

static int do_feature_show(int argc, char **argv)
{
	const char *dev = UNIFIED_IO_DEVICE;
	struct unified_io_info info;
	struct unio_region *r;
	unsigned int i;
	int ret;

	while (argc) {
		if (is_prefix(*argv, "dev")) {
			NEXT_ARG();
			if (!REQ_ARGS(1))
				return -1;
			dev = GET_ARG();
		} else {
			return p_usage("feature: unknown argument '%s' (expected dev PATH)",
				       *argv);
		}
	}

	ret = unio_region_open(dev, &r);
	if (ret) {
		UNIO_OPTS(opts, .dev_path = dev);

		p_err("%s", tool_explain(UNIO_CALL_OPEN, ret, &opts));
		return -1;
	}
	ret = unio_region_get_info(r, &info);
	unio_region_destroy(r);
	if (ret) {
		p_err("GET_INFO on %s failed: %s", dev, strerror(-ret));
		return -1;
	}

	if (json_output) {
		jsonw_start_object(json_wtr);
		jsonw_string_field(json_wtr, "device", dev);
		jsonw_uint_field(json_wtr, "abi_version", info.config.abi_version);
		jsonw_uint_field(json_wtr, "tool_abi_version", UNIFIED_IO_ABI_VERSION);
		jsonw_uint_field(json_wtr, "features", info.config.features);
		jsonw_name(json_wtr, "feature_names");
		print_feature_names_json(info.config.features);
		jsonw_end_object(json_wtr);
		return 0;
	}

	printf("device:       %s\n", dev);
	printf("abi_version:  %u%s\n", info.config.abi_version,
	       info.config.abi_version == UNIFIED_IO_ABI_VERSION ? "" :
	       " (this tool was built for another ABI version)");
	printf("features:     0x%x\n", info.config.features);
	for (i = 0; i < nr_feature_descs; i++)
		printf("  %-14s %-3s  %s\n", feature_descs[i].name,
		       info.config.features & feature_descs[i].bit ? "yes" : "no",
		       feature_descs[i].desc);
	if (info.config.features & ~UNIFIED_IO_FEATURES)
		printf("  unknown bits   0x%x (newer kernel)\n",
		       info.config.features & ~UNIFIED_IO_FEATURES);
	return 0;
}

static const struct cmd feature_cmds[] = {
	{ "show",	do_feature_show },
	{ "help",	do_feature_help },
	{ 0 }
};

int do_feature(int argc, char **argv)
{
	/* "unified-io feature" and "unified-io feature dev PATH" show. */
	if (argc < 1 || is_prefix(*argv, "dev"))
		return do_feature_show(argc, argv);
	return cmd_select(feature_cmds, argc, argv, do_feature_help,
			  "feature command");
}
