/* strlist.c - string lists (see strlist.h). */
#include "strlist.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

void strlist_push_owned(strlist_t *l, char *s) {
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 16;
    l->v = dpt_realloc(l->v, sizeof(char *) * (size_t)l->cap);
  }
  l->v[l->n++] = s;
}

void strlist_push(strlist_t *l, const char *s) { strlist_push_owned(l, dpt_strdup(s)); }

int strlist_find(const strlist_t *l, const char *s) {
  for (int i = 0; i < l->n; i++)
    if (!strcmp(l->v[i], s)) return i;
  return -1;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void strlist_sort(strlist_t *l, int from) {
  if (from < l->n) qsort(l->v + from, (size_t)(l->n - from), sizeof(char *), cmp_str);
}

void strlist_free(strlist_t *l) {
  for (int i = 0; i < l->n; i++) dpt_free(l->v[i]);
  dpt_free(l->v);
  *l = (strlist_t){0};
}
