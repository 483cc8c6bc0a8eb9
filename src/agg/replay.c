/* replay.c - copies of the runs priced under each network (see replay.h). */
#include "replay.h"

#include <string.h>

#include "../core/err.h"
#include "../core/strbuf.h"
#include "../data/dataset.h"
#include "../nn/model.h"

/* The training FLOPs per image of the run's model (nn_model_t.flops_per_image), from its
 * config and the shape of its dataset (data.path, which must be readable here). */
static int model_flops(agg_run_t *r, double *flops) {
  const dpt_config_t *cfg = runfile_typed_config(&r->file);
  if (!cfg) return dpt_fail("device_gflops needs the run's config, which does not load");
  dataset_head_t h;
  if (dataset_head_open(cfg->data_path, &h, 0) < 0)
    return dpt_wrap("device_gflops needs the model's shape from its dataset");
  nn_model_t nm;
  int ok = h.channels >= 1 && h.channels <= 64 && h.num_classes >= 2 && h.num_classes <= 100000;
  int rc = ok ? nn_model_init(&nm, cfg->model, (int)h.channels, NN_INPUT_SIZE, NN_INPUT_SIZE,
                              (int)h.num_classes, 1)
              : dpt_fail("%s: %lld channels, %lld classes: no model to count", cfg->data_path,
                         (long long)h.channels, (long long)h.num_classes);
  dataset_head_free(&h);
  if (rc < 0) return -1;
  *flops = nm.flops_per_image;
  nn_model_free(&nm);
  return 0;
}

/* Prices one run under one network into *rp; the reason into *why when it cannot. */
static int price_one(agg_run_t *r, const net_model_t *m, double compute, net_replay_t *rp,
                     char **why) {
  const ledger_t *l = &r->file.rounds;
  if (!(r->file.has & RUNFILE_HAS_ROUNDS) || l->n == 0) {
    *why = dpt_strdup(!(r->file.has & RUNFILE_HAS_ROUNDS)
                          ? "no /rounds (written before dpt recorded its communication "
                            "ledger): not priced"
                          : "/rounds holds no round: not priced");
    return -1;
  }
  int64_t ranks = r->file.info.mpi_ranks > 0 ? r->file.info.mpi_ranks : 1;
  net_speed_t sp = {compute, 0, ranks, r->metric[RUN_M_IMAGES_PER_S], r->n};
  int need_flops = m->device_flops > 0 && !(compute > 0);
  if ((need_flops && model_flops(r, &sp.flops_per_image) < 0) || ledger_check(l) < 0 ||
      net_replay(m, l, &sp, rp) < 0) {
    strbuf_t b = {0};
    strbuf_printf(&b, "not priced under %s: %s", m->name, dpt_errmsg());
    *why = strbuf_take(&b);
    dpt_clear_error();
    return -1;
  }
  return 0;
}

int agg_price_runs(agg_priced_t *p, const agg_runset_t *set, const agg_study_t *st) {
  memset(p, 0, sizeof *p);
  p->nnets = st->network.n;
  p->nets = dpt_alloc(sizeof(net_model_t) * (size_t)(p->nnets ? p->nnets : 1));
  for (int k = 0; k < p->nnets; k++) {
    if (net_model_resolve(&p->nets[k], st->network.v[k]) < 0) return -1;
    if (st->replicas > 0) p->nets[k].replicas = st->replicas;
  }
  p->nviews = set->nruns * p->nnets;
  p->views = dpt_alloc(sizeof(agg_run_t) * (size_t)(p->nviews ? p->nviews : 1));
  p->replays = dpt_alloc(sizeof(net_replay_t) * (size_t)(p->nviews ? p->nviews : 1));
  for (int i = 0; i < set->nruns; i++) {
    char *why = NULL;
    for (int k = 0; k < p->nnets; k++) {
      int v = i * p->nnets + k;
      p->views[v] = set->runs[i];
      p->views[v].net = &p->nets[k];
      if (!why && price_one(&set->runs[i], &p->nets[k], st->compute, &p->replays[v], &why) == 0)
        p->views[v].replay = &p->replays[v];
    }
    if (why) {
      strbuf_t b = {0};
      strbuf_printf(&b, "%s: %s", set->runs[i].path, why);
      strlist_push_owned(&p->notes, strbuf_take(&b));
      dpt_free(why);
    }
  }
  return 0;
}

void agg_priced_notes(const agg_priced_t *p, FILE *log) {
  if (!p->notes.n) return;
  fprintf(log, "dpt-aggregate: note: %d run%s without a simulated time (their network "
               "values are left empty):\n", p->notes.n, p->notes.n == 1 ? "" : "s");
  for (int i = 0; i < p->notes.n; i++) fprintf(log, "  %s\n", p->notes.v[i]);
}

void agg_priced_free(agg_priced_t *p) {
  for (int v = 0; v < p->nviews; v++) net_replay_free(&p->replays[v]);
  dpt_free(p->replays);
  dpt_free(p->views);
  dpt_free(p->nets);
  strlist_free(&p->notes);
  memset(p, 0, sizeof *p);
}
