/* template.h - the job templates of jobs/ (array.sbatch.in, aggregate.sbatch.in): each
 * {{KEY}} is replaced by its value, and a line whose value is empty is left out (an
 * #SBATCH option the spec does not set). */
#ifndef DPT_SWEEP_TEMPLATE_H
#define DPT_SWEEP_TEMPLATE_H

typedef struct {
  const char *key, *value;
} sweep_subst_t;

/* The filled template into *out (dpt_free() it); fails naming an unknown or unclosed
 * placeholder. */
int sweep_fill_template(const char *tpl_path, const sweep_subst_t *subs, int nsubs,
                        char **out);
/* path in double quotes for an #SBATCH line, with pattern (an --output %-pattern, may be
 * NULL) after it; dpt_free() it. */
char *sweep_sbatch_word(const char *path, const char *pattern);
/* 1 when path can be written into a job script (sweep_sbatch_word and single quotes). */
int sweep_script_safe(const char *path);

#endif
