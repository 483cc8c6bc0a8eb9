/* report.c - what a run tells as it goes: the progress line after each epoch and
 * run.h5 (written by rank 0). */
#include <math.h>
#include <stdio.h>

#include "../core/numfmt.h"
#include "../h5/h5util.h"
#include "method.h"
#include "report.h"

void train_print_progress(const trainer_t *t, double elapsed) {
  const train_state_t *s = &t->state;
  const run_metrics_t *m = &s->metrics;
  int64_t i = m->n - 1;
  char el[32], eta[32], method[160], bytes[32];
  dpt_format_duration(el, sizeof el, elapsed);
  dpt_format_duration(eta, sizeof eta, elapsed / (double)s->epoch * (t->cfg->epochs - s->epoch));
  double share = m->comm_time[i] / (m->comm_time[i] + m->compute_time[i]);
  t->method->progress(t, i, method, sizeof method);
  /* Without a validation split there are no validation figures: "-", not "nan". */
  char val[64] = "val loss - acc -";
  if (!isnan(m->val_loss[i]))
    snprintf(val, sizeof val, "val loss %.4f acc %.4f", m->val_loss[i], m->val_acc[i]);
  /* the epoch's payload from the ledger: per worker, or per replica of synchronous
   * training (participants 0) */
  dpt_format_bytes(bytes, sizeof bytes, (double)m->bytes[i]);
  const ledger_t *l = &s->ledger;
  const char *who = l->n && l->participants[l->n - 1] == 0 ? "replica" : "worker";
  printf("epoch %*d/%d  lr %.4g  train loss %.4f acc %.4f  %s%s  "
         "comm %.0f%%  %s per %s  %.0f img/s  elapsed %s  ETA %s\n",
         (int)snprintf(NULL, 0, "%d", t->cfg->epochs), s->epoch, t->cfg->epochs, m->lr[i],
         m->train_loss[i], m->train_acc[i], val, method, 100 * share, bytes, who,
         m->images_per_s[i], el, eta);
  fflush(stdout);
}

int train_write_run(trainer_t *t) {
  if (t->rank != 0) return 0;
  h5_iso_time(t->state.info.end_time, sizeof t->state.info.end_time);
  t->state.info.rounds = &t->state.ledger;
  return runfile_write(t->run_path, t->cfg, &t->state.info, &t->state.metrics);
}
