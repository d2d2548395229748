/*
 * fuzz_config.c - the configuration files: dmarc-milter.conf
 * (config_load) and dmarc-reports.conf (rconf_load), which share the
 * kvfile syntax.  The input is written to one file in a private temporary
 * directory and both loaders read it.
 *
 * Host list options (IgnoreHosts, TrustedHosts) take "/path" to read a
 * file of hosts.  An input that could point one at anything under /dev,
 * /proc, /sys or /run (e.g. "IgnoreHosts /dev/zero" reads forever) is
 * skipped: the administrator chooses those paths, and the
 * point here is the parser, not what the machine's files contain.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>		/* rconf.h uses FILE without including it */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "rconf.h"
#include "fuzz.h"

static const char *conf_path;

/* LLVMFuzzerInitialize - the private file, once per process */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	conf_path = fuzz_tmpfile("fuzz.conf");
	return 0;
}

/*
 * names_special_file - whether data may point a host list at a special
 * file: a path under /dev, /proc, /sys or /run together with an option
 * whose name ends in "hosts" (case does not matter to the parser).
 */
static int
names_special_file(const uint8_t *data, size_t size)
{
	static const char *paths[] = { "/dev", "/proc", "/sys", "/run" };
	char *low;
	size_t i;
	int special = 0;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]) && !special; i++)
		if (memmem(data, size, paths[i], strlen(paths[i])) != NULL)
			special = 1;
	if (!special)
		return 0;
	if ((low = malloc(size > 0 ? size : 1)) == NULL)
		abort();
	for (i = 0; i < size; i++)
		low[i] = (char)(data[i] >= 'A' && data[i] <= 'Z' ? data[i] + 32 : data[i]);
	special = memmem(low, size, "hosts", 5) != NULL;
	free(low);
	return special;
}

/* LLVMFuzzerTestOneInput - one configuration file */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c;
	struct rconf *rc;
	char err[1024];

	if (names_special_file(data, size))
		return 0;
	fuzz_write(conf_path, data, size);
	err[0] = '\0';
	if ((c = config_load(conf_path, err, sizeof(err))) != NULL) {
		FUZZ_CHECK(c->authserv_id != NULL);
		config_free(c);
	} else {
		FUZZ_CHECK(err[0] != '\0');
	}
	err[0] = '\0';
	if ((rc = rconf_load(conf_path, err, sizeof(err))) != NULL)
		rconf_free(rc);
	else
		FUZZ_CHECK(err[0] != '\0');
	return 0;
}
