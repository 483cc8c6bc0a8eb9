/* boolword.h - the one rule for a boolean written as a word (config values, study and
 * schema flags): YAML 1.1's words, in any case (so the seed's Python `False` reads),
 * nothing else. */
#ifndef DPT_BOOLWORD_H
#define DPT_BOOLWORD_H

/* The words accepted, for messages. */
#define DPT_BOOL_WORDS "true or false (also yes/no, on/off; any case)"

/* 1 or 0 into *out; for any other text fails with "'TEXT': expected DPT_BOOL_WORDS". */
int dpt_parse_bool(const char *s, int *out);

#endif
