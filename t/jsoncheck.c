/*
 * jsoncheck.c - for the shell tests: parse a JSON document (jansson) and
 * print values from it.
 *
 *	jsoncheck FILE|- [PATH...]
 *
 * Exit 0 when the document parses and every PATH exists, printing each
 * value on its own line (strings as they are, numbers, true/false/null,
 * arrays and objects as their size); 1 otherwise, with the reason on
 * standard error.  PATH is segments separated by '/': an object key, an
 * array index, or [KEY=VALUE] for the first object of an array whose KEY
 * is the string VALUE (a domain in a key has dots, hence '/').
 */
#include "autoconf.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* step - one segment */
static json_t *
step(json_t *j, const char *seg)
{
	char *end, *eq, *k;
	size_t i, n;
	json_t *v;

	if (seg[0] == '[' && (n = strlen(seg)) > 2 && seg[n - 1] == ']' && (eq = strchr(seg, '=')) != NULL) {
		if (!json_is_array(j))
			return NULL;
		k = strndup(seg + 1, (size_t)(eq - seg - 1));
		json_array_foreach(j, i, v) {
			json_t *f = json_object_get(v, k);

			if (json_is_string(f) && strlen(json_string_value(f)) == n - 2 - (size_t)(eq - seg) &&
			    strncmp(json_string_value(f), eq + 1, n - 2 - (size_t)(eq - seg)) == 0) {
				free(k);
				return v;
			}
		}
		free(k);
		return NULL;
	}
	if (json_is_array(j)) {
		i = strtoul(seg, &end, 10);
		return *seg != '\0' && *end == '\0' ? json_array_get(j, i) : NULL;
	}
	return json_object_get(j, seg);
}

int
main(int argc, char **argv)
{
	json_error_t e;
	json_t *doc, *j;
	char *path, *seg, *save;
	int i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: jsoncheck FILE|- [PATH...]\n");
		return 2;
	}
	doc = strcmp(argv[1], "-") == 0 ? json_loadf(stdin, 0, &e) : json_load_file(argv[1], 0, &e);
	if (doc == NULL) {
		fprintf(stderr, "jsoncheck: %s:%d: %s\n", argv[1], e.line, e.text);
		return 1;
	}
	for (i = 2; i < argc; i++) {
		path = strdup(argv[i]);
		j = doc;
		for (seg = strtok_r(path, "/", &save); seg != NULL && j != NULL; seg = strtok_r(NULL, "/", &save))
			j = step(j, seg);
		free(path);
		if (j == NULL) {
			fprintf(stderr, "jsoncheck: %s: no such value\n", argv[i]);
			rc = 1;
			continue;
		}
		if (json_is_string(j))
			printf("%s\n", json_string_value(j));
		else if (json_is_integer(j))
			printf("%" JSON_INTEGER_FORMAT "\n", json_integer_value(j));
		else if (json_is_real(j))
			printf("%.6g\n", json_real_value(j));
		else if (json_is_true(j))
			printf("true\n");
		else if (json_is_false(j))
			printf("false\n");
		else if (json_is_null(j))
			printf("null\n");
		else
			printf("%zu\n", json_is_array(j) ? json_array_size(j) : json_object_size(j));
	}
	json_decref(doc);
	return rc;
}
