/* strlist.h - a growable list of owned strings. */
#ifndef DPT_STRLIST_H
#define DPT_STRLIST_H

typedef struct {
  char **v;   /* n strings, each owned by the list */
  int n, cap;
} strlist_t;

/* Appends a copy of s. */
void strlist_push(strlist_t *l, const char *s);
/* Appends s itself: the list takes ownership of a dpt_alloc()ed string. */
void strlist_push_owned(strlist_t *l, char *s);
/* Index of the first entry equal to s, or -1. */
int strlist_find(const strlist_t *l, const char *s);
/* Sorts entries [from, n) by strcmp. */
void strlist_sort(strlist_t *l, int from);
void strlist_free(strlist_t *l);

#endif
