/*
 * fuzz.h - small helpers shared by the libFuzzer harnesses in fuzz/.
 *
 * Every harness is one translation unit with LLVMFuzzerTestOneInput; this
 * header only holds static helpers, so each harness links alone.  Nothing
 * here keeps state that grows from one input to the next.
 */
#ifndef DM_FUZZ_H
#define DM_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

int	LLVMFuzzerInitialize(int *argc, char ***argv);
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * fuzz_quiet - format every log line (so format bugs show) but write none:
 * millions of runs must not fill the terminal or syslog.
 */
static inline void
fuzz_quiet(void)
{
	log_set_stderr(false);
	log_set_syslog(false, NULL);
	log_set_level(LOG_LEVEL_DEBUG);
}

/* fuzz_cstr - the input as a NUL-terminated string of exactly size bytes */
static inline char *
fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * fuzz_tmpdir - a private directory, created once per process and removed
 * at exit (with the one file a harness keeps in it).  TMPDIR is honoured.
 */
static char fuzz_dir[4096];
static char fuzz_dir_file[4096];

static inline void
fuzz_tmpdir_cleanup(void)
{
	if (fuzz_dir_file[0] != '\0')
		unlink(fuzz_dir_file);
	if (fuzz_dir[0] != '\0')
		rmdir(fuzz_dir);
}

static inline const char *
fuzz_tmpfile(const char *name)
{
	const char *t = getenv("TMPDIR");

	if (fuzz_dir[0] == '\0') {
		snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/dmarc-fuzz.XXXXXX",
		    t != NULL && *t != '\0' ? t : "/tmp");
		if (mkdtemp(fuzz_dir) == NULL) {
			perror("fuzz: mkdtemp");
			abort();
		}
		snprintf(fuzz_dir_file, sizeof(fuzz_dir_file), "%s/%s", fuzz_dir, name);
		atexit(fuzz_tmpdir_cleanup);
	}
	return fuzz_dir_file;
}

/* fuzz_write - replace path's contents with data; aborts on I/O errors */
static inline void
fuzz_write(const char *path, const uint8_t *data, size_t size)
{
	FILE *fp = fopen(path, "wb");

	if (fp == NULL || (size > 0 && fwrite(data, 1, size, fp) != size) || fclose(fp) != 0) {
		perror(path);
		abort();
	}
}

/* FUZZ_CHECK - an invariant the code documents; a violation is a finding */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz: %s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

#endif
