/* cmp.h - qsort comparators shared by the modules that sort index lists. */
#ifndef DPT_CMP_H
#define DPT_CMP_H

/* Ascending int64_t. */
int dpt_cmp_i64(const void *a, const void *b);

#endif
