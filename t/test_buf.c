/*
 * test_buf.c - the capped string buffer.
 */
#include "autoconf.h"

#include <stdlib.h>

#include "buf.h"
#include "tap.h"

int
main(void)
{
	struct buf b;
	char *s;

	buf_init(&b, 8);
	tap_is_str(buf_str(&b), "", "empty buffer reads as \"\"");
	tap_is_int(buf_puts(&b, "abc"), 0, "append within the cap succeeds");
	tap_is_int(buf_printf(&b, "%d", 42), 0, "printf appends");
	tap_is_str(buf_str(&b), "abc42", "contents after two appends");
	tap_is_int(buf_puts(&b, "defgh"), -1, "append over the cap is refused");
	tap_is_str(buf_str(&b), "abc42def", "what fits is kept, terminated");
	tap_ok(b.truncated, "truncation is flagged");
	tap_is_int(b.len, 8, "length stops at the cap");
	buf_reset(&b);
	tap_ok(!b.truncated && b.len == 0 && buf_str(&b)[0] == '\0', "reset empties and clears the flag");
	buf_append(&b, "a\0b", 3);
	tap_is_int(b.len, 3, "binary data with NUL is kept");
	s = buf_detach(&b);
	tap_ok(s[0] == 'a' && s[1] == '\0' && s[2] == 'b' && s[3] == '\0', "detach hands over the bytes, terminated");
	tap_ok(b.data == NULL && b.len == 0, "detach leaves the buffer empty");
	free(s);
	buf_free(&b);
	return tap_done();
}
