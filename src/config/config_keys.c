/* config_keys.c - the table of every configuration key (type, default, range, doc) and
 * how one key's scalar is parsed, range-checked and printed. Scalars are parsed here, not
 * by a YAML schema, so that the seed's `1e-2` is a number and `False` a boolean. */
#include "config_keys.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/boolword.h"
#include "../core/err.h"
#include "../core/numfmt.h"

#define FIELD(f) offsetof(dpt_config_t, f), sizeof(((dpt_config_t *)0)->f)

static const char *const losses[] = {"CSE", NULL};

/* Keys of one map must stay contiguous: the resolved YAML and the "expected one of"
 * lists are produced in one pass over this order. */
const cfg_key_t cfg_keys[] = {
    {"model.name", T_ENUM_ID, FIELD(model), "LeNet", nn_model_names,
     .doc = "architecture: LeNet (the seed's 64-64-384-192 variant), LeNet5 (classic), or "
            "the CIFAR ResNets of He et al. (ResNet20, ResNet32, ResNet44, ResNet56; batch "
            "norm over ghost batches, model.bn)"},
    {"model.epochs", T_INT, FIELD(epochs), "150",
     .range = "[1, " CFG_STR(CFG_MAX_EPOCHS) "]", .doc = "training epochs"},
    {"model.batch_size", T_INT, FIELD(batch_size), "64", .range = "[1, 1048576]",
     .doc = "global batch size of centralized training"},
    {"model.learning_rate", T_FLOAT, FIELD(learning_rate), "0.01", .range = "> 0",
     .doc = "base learning rate"},
    {"model.loss", T_ENUM, FIELD(loss), "CSE", losses, .doc = "softmax cross-entropy"},
    {"model.optimizer", T_ENUM_ID, FIELD(optimizer), "SGDM", .spell = opt_spelling,
     .doc = "optimizer of centralized training; with model.num_workers >= 1 only SGDM: "
            "the local workers' optimizer is model.work.optimizer"},
    {"model.scheduler", T_ENUM_ID, FIELD(scheduler), "CosineAnnealingLR", opt_sched_names,
     .doc = "learning-rate schedule after the warm-up, per epoch or per optimizer step "
            "(optim.schedule_unit)"},
    {"model.weight_decay", T_FLOAT, FIELD(optim.weight_decay), "0.001", .range = ">= 0",
     .doc = "weight decay"},
    {"model.warmup", T_INT, FIELD(warmup), "0", .range = ">= 0",
     .doc = "warm-up length in optim.schedule_unit's unit: the LR rises linearly from 0.1 x "
            "lr to lr over this many epochs (< epochs), or optimizer steps (< the run's steps)"},
    {"model.patience", T_INT, FIELD(patience), "0",
     .doc = "stop after this many epochs without a better validation accuracy; <= 0 off"},
    {"model.pretrained", T_PATH, FIELD(pretrained), "",
     .doc = "start from these weights; empty or None = from scratch"},
    {"model.init", T_ENUM_ID, FIELD(init), "pytorch", nn_init_names,
     .doc = "weight init: pytorch (PyTorch's default, U(+-1/sqrt(fan_in))) or "
            "kaiming_normal (conv and linear weights N(0, 2/fan_in), the ResNet paper's code)"},
    {"model.num_workers", T_INT, FIELD(num_workers), "0", .range = "[0, 1024]",
     .doc = "K: 0 = centralized, K >= 1 = LocalSGD with K workers"},
    {"model.test", T_IGNORED, 0, 0, "", .doc = "accepted and ignored, as the seed did"},
    {"model.slowmo.enabled", T_BOOL, FIELD(slowmo_enabled), "false",
     .doc = "SlowMo on; true whenever a model.slowmo map is given"},
    {"model.slowmo.learning_rate", T_FLOAT, FIELD(slowmo_lr), "1.0", .range = "> 0",
     .doc = "SlowMo alpha (slow learning rate)"},
    {"model.slowmo.momentum", T_FLOAT, FIELD(slowmo_momentum), "0.0", .range = "[0, 1)",
     .doc = "SlowMo beta (slow momentum)"},
    {"model.slowmo.reset_each_epoch", T_BOOL, FIELD(slowmo_reset_each_epoch), "false",
     .doc = "the seed's SlowMo: at every epoch start zero the slow momentum (the outer "
            "buffer, any model.outer.type) and reset the local optimizers' state, as the "
            "seed re-created both each epoch"},
    {"model.outer.type", T_ENUM_ID, FIELD(outer_type), "none", .spell = outer_spelling,
     .doc = "outer step on x0 - mean(x_k) at each averaging: none (plain LocalSGD), slowmo "
            "(SlowMo, lr = alpha, momentum = beta; what a model.slowmo map resolves to) or "
            "nesterov (DiLoCo: PyTorch SGD(lr, momentum, nesterov=True))"},
    {"model.outer.learning_rate", T_FLOAT, FIELD(outer_lr), "1.0", .range = "> 0",
     .doc = "outer learning rate: SlowMo alpha, Nesterov eta (DiLoCo: 0.7)"},
    {"model.outer.momentum", T_FLOAT, FIELD(outer_momentum), "0.0", .range = "[0, 1)",
     .doc = "outer momentum: SlowMo beta, Nesterov mu (DiLoCo: 0.9)"},
    {"model.outer.compress", T_COMPRESS, FIELD(outer_compress), "none",
     .doc = "what each local worker sends at an averaging: its pseudo-gradient x0 - x_k, "
            "compressed (docs/compression.md): none (today's dense average), fp16, bf16, "
            "int8, topk:RATIO (with error feedback) or powersgd:RANK; the mean goes to the "
            "outer step"},
    {"model.outer.keep", T_STR, FIELD(outer_compress.keep), "",
     .doc = "tensors model.outer.compress sends dense (float32): a comma list of biases, "
            "last (the last layer) and name prefixes; empty = none"},
    {"model.outer.powersgd.start_iter", T_INT, FIELD(outer_psgd_start), "0", .range = ">= 0",
     .doc = "PowerSGD's start_powerSGD_iter for model.outer.compress: averagings sent dense "
            "first (0: compress from the first)"},
    {"model.outer.powersgd.min_compression_rate", T_FLOAT,
     FIELD(outer_compress.min_rate), "2.0", .range = "> 0",
     .doc = "PowerSGD: a tensor is compressed when (rows + cols) r times this is below rows "
            "cols (the hook's min_compression_rate)"},
    {"model.outer.powersgd.error_feedback", T_BOOL, FIELD(outer_compress.error_feedback),
     "true", .doc = "PowerSGD: keep each worker's residual and add it next averaging"},
    {"model.outer.powersgd.warm_start", T_BOOL, FIELD(outer_compress.warm_start), "true",
     .doc = "PowerSGD: start from the last averaging's Q (else a fresh draw each time)"},
    {"model.outer.fragments", T_INT, FIELD(outer_fragments), "1", .range = "[1, 1024]",
     .doc = "Streaming DiLoCo: F fragments of whole tensors, each averaged (and stepped by "
            "model.outer.type) on its own schedule, fragment f after every H steps at offset "
            "floor((f+1) H / F) (docs/compression.md); 1: the whole model at once"},
    {"model.outer.delay", T_INT, FIELD(outer_delay), "0", .range = ">= 0",
     .doc = "Streaming DiLoCo: tau, the local steps a fragment's outer communication "
            "overlaps: its pseudo-gradient is taken tau steps before its outer step is applied "
            "(< floor(H / F)); 0: applied at once, as in DiLoCo"},
    {"model.outer.mix", T_FLOAT, FIELD(outer_mix), "0.0", .range = "[0, 1]",
     .doc = "Streaming DiLoCo: alpha, what a worker keeps of its own fragment when the outer "
            "step lands (torchft's fragment_update_alpha): alpha local + (1 - alpha) global; "
            "0: replaced by the global fragment"},
    {"model.work.local_steps", T_INT, FIELD(local_steps), "1", .range = ">= 1",
     .doc = "H: local steps between two averagings"},
    {"model.work.sync_steps", T_INT, FIELD(sync_steps), "0", .range = ">= 0",
     .doc = "informational: the seed's averagings per epoch"},
    {"model.work.batch_size", T_INT, FIELD(worker_batch_size), "64", .range = "[1, 1048576]",
     .doc = "b: each worker's batch size"},
    {"model.work.momentum", T_ENUM_ID, FIELD(local_momentum), "keep", local_momentum_names,
     .doc = "local optimizer state at an averaging: kept, averaged, reset, reset per epoch "
            "(SGDM/LARS: the momentum buffer; AdamW/LAMB: both moments, the step count kept "
            "unless reset)"},
    {"model.work.optimizer", T_ENUM_ID, FIELD(work_optimizer), "SGDM", .spell = opt_spelling,
     .doc = "each local worker's optimizer (SGDM as in the seed, AdamW for DiLoCo, LARS, "
            "LAMB), with the optim: hyper-parameters"},
    {"model.work.local_from_epoch", T_INT, FIELD(local_from_epoch), "0", .range = ">= 0",
     .doc = "post-local SGD (Lin et al.'s turn_on_local_step_from, in epochs): epochs "
            "before it train synchronously (the K workers' gradients averaged every step, "
            "one step for all); 0 = local steps from the start"},
    {"model.work.dynamic.strategy", T_ENUM_ID, FIELD(dynamic.kind), "", .spell = dynh_spelling,
     .doc = "dynamic-H strategy (src/optim/dynamic_h.h describes each); empty = fixed H "
            "(local_steps)"},
    {"model.work.dynamic.n_losses", T_INT, FIELD(dynamic.n_losses), "3", .range = ">= 1",
     .doc = "the validation-loss history of LossLS (>= 3) and AvgLossLS (even): they act "
            "once more than n_losses losses exist, as the seed did"},
    {"model.work.dynamic.h_min", T_INT, FIELD(dynamic.h_min), "4", .range = ">= 1",
     .doc = "lower bound of H: where ALin/ABin start and DLin/DBin end; halving "
            "(ImprLS, LossLS, AvgLossLS, Deviation) stops here"},
    {"model.work.dynamic.h_max", T_INT, FIELD(dynamic.h_max), "64", .range = ">= 1",
     .doc = "upper bound of H (>= h_min): where ALin/ABin end and DLin/DBin start; doubling "
            "stops here (Sigmoid/RevCosAnn use T/22 and T/2)"},
    {"model.work.dynamic.sigmoid_steepness", T_FLOAT, FIELD(dynamic.steepness), "0.5",
     .range = "> 0", .doc = "Sigmoid: steepness s of H = Hmin + (Hmax-Hmin)/(1+exp(-s(e-m))), e the epoch"},
    {"model.work.dynamic.sigmoid_midpoint", T_FLOAT, FIELD(dynamic.midpoint), "auto",
     .range = ">= 0", .autoable = 1,
     .doc = "Sigmoid: midpoint epoch m; auto = model.epochs/2 (the seed's 75 of 150)"},
    {"model.work.dynamic.deviation_lower", T_FLOAT, FIELD(dynamic.dev_lower), "1e-05",
     .range = ">= 0",
     .doc = "Deviation: double H when the epoch's mean of d = mean_k norm(x_k-xa)^2/norm(xa)^2 "
            "is below"},
    {"model.work.dynamic.deviation_upper", T_FLOAT, FIELD(dynamic.dev_upper), "0.0001",
     .range = "> 0", .doc = "Deviation: halve H when that mean is above (> deviation_lower)"},

    {"model.bn.ghost_batch", T_INT, FIELD(ghost_batch), "32", .range = "[1, 256]",
     .doc = "ResNets: images per batch-norm group (ghost batch); must divide model.batch_size "
            "(centralized) or model.work.batch_size (local), so no P changes a group. The "
            "model keeps one group's activations: about 1.7 MB per image (ResNet20) to 4.8 MB "
            "(ResNet56)"},
    {"model.bn.momentum", T_FLOAT, FIELD(bn_momentum), "0.1", .range = "[0, 1]",
     .doc = "ResNets: running statistics r = (1 - m) r + m x of each ghost batch, in order"},
    {"model.bn.weight_decay", T_BOOL, FIELD(optim.bn_weight_decay), "true",
     .doc = "ResNets: weight decay on batch-norm weights and biases too (SGDM, AdamW), as the "
            "paper's code does"},

    {"optim.momentum", T_FLOAT, FIELD(optim.momentum), "0.9", .range = "[0, 1)",
     .doc = "SGDM and LARS momentum mu"},
    {"optim.beta1", T_FLOAT, FIELD(optim.beta1), "0.9", .range = "[0, 1)", .doc = "AdamW/LAMB beta1"},
    {"optim.beta2", T_FLOAT, FIELD(optim.beta2), "0.999", .range = "[0, 1)",
     .doc = "AdamW/LAMB beta2"},
    {"optim.eps", T_FLOAT, FIELD(optim.eps), "1e-08", .range = "> 0", .doc = "AdamW epsilon"},
    {"optim.lars_variant", T_ENUM_ID, FIELD(optim.lars_variant), "paper", opt_lars_variant_names,
     .doc = "LARS: paper (You et al. 2017), larc (apex LARC, timm) or seed (eta 0.3, eps 1e-6)"},
    {"optim.lamb_variant", T_ENUM_ID, FIELD(optim.lamb_variant), "paper", opt_lamb_variant_names,
     .doc = "LAMB: paper (You et al. 2019), apex (FusedLAMB, timm) or seed (clip to 1, no "
            "bias correction)"},
    {"optim.trust_coefficient", T_FLOAT, FIELD(optim.trust_coefficient), "0.001", .range = "> 0",
     .doc = "LARS trust coefficient eta (paper and larc; seed uses 0.3)"},
    {"optim.lars_eps", T_FLOAT, FIELD(optim.lars_eps), "1e-08", .range = ">= 0",
     .doc = "LARS epsilon of the trust ratio (paper and larc; seed uses 1e-6)"},
    {"optim.larc_clip", T_BOOL, FIELD(optim.larc_clip), "false",
     .doc = "LARS larc: clip the trust ratio to min(trust/lr, 1) (apex LARC clip mode)"},
    {"optim.exclude_1d", T_BOOL, FIELD(optim.exclude_1d), "auto", .autoable = 1,
     .doc = "LARS/LAMB: biases and other 1-D tensors skip the trust ratio and weight decay; "
            "auto = as the variant's source: false for LARS paper and seed and LAMB paper and "
            "seed (every tensor adapted and decayed), true for LARS larc and LAMB apex (timm "
            "and NVIDIA's recipes give 1-D tensors no decay, hence no trust ratio; apex LARC "
            "alone adapts every tensor: false)"},
    {"optim.lamb_eps", T_FLOAT, FIELD(optim.lamb_eps), "1e-06", .range = "> 0",
     .doc = "LAMB epsilon (every variant)"},
    {"optim.lamb_clamp_lower", T_FLOAT, FIELD(optim.clamp_lower), "0.0", .range = ">= 0",
     .doc = "LAMB phi(norm(w)) = max(norm(w), lower); 0 = no lower clamp"},
    {"optim.lamb_clamp_upper", T_FLOAT, FIELD(optim.clamp_upper), "0.0", .range = ">= 0",
     .doc = "LAMB phi(norm(w)) = min(norm(w), upper); 0 = no upper clamp"},
    {"optim.lr_scaling", T_ENUM_ID, FIELD(lr_scaling), "none", opt_lr_scaling_names,
     .doc = "base LR for batch B: none, linear (lr*B/B_ref) or sqrt (lr*sqrt(B/B_ref)); B is "
            "model.batch_size, in LocalSGD the worker batch b (model.work.batch_size), not K*b: "
            "each local step is one worker's SGDM step on b images"},
    {"optim.lr_ref_batch", T_INT, FIELD(lr_ref_batch), "64", .range = ">= 1",
     .doc = "B_ref: the batch that model.learning_rate was tuned for (lr_scaling)"},
    {"optim.schedule_unit", T_ENUM_ID, FIELD(schedule_unit), "epoch", opt_sched_unit_names,
     .doc = "what model.scheduler and model.warmup count: epoch (the LR changes once per "
            "epoch) or step (once per optimizer step; warm-up in steps)"},

    {"data.path", T_PATH, FIELD(data_path), "data/cifar100.h5", .doc = "dataset (HDF5)"},
    {"data.limit", T_INT, FIELD(limit), "0", .range = ">= 0",
     .doc = "use only the first N train and test images; 0 = all"},
    {"data.val_fraction", T_FLOAT, FIELD(val_fraction), "0.1", .range = "[0, 1)",
     .doc = "share of the training images held out for validation"},
    {"data.crop_padding", T_INT, FIELD(crop_padding), "auto", .range = ">= 0", .autoable = 1,
     .doc = "random-crop zero padding; 0 = off; auto = 4 for 3-channel data, else 0"},
    {"data.flip", T_BOOL, FIELD(flip), "auto", .autoable = 1,
     .doc = "random horizontal flips; auto = on for 3-channel data, else off"},
    {"data.sharding", T_SHARDING, FIELD(sharding), "iid",
     .doc = "LocalSGD shards: iid, random, classes:C or dirichlet:A"},

    {"experiment.name", T_STR, FIELD(exp_name), "run",
     .doc = "run name (the run directory is runs/NAME-vVERSION): no '/', '..' or control "
            "characters"},
    {"experiment.resume", T_BOOL, FIELD(resume), "false",
     .doc = "resume from the last checkpoint"},
    {"experiment.test_only", T_BOOL, FIELD(test_only), "false",
     .doc = "evaluate model.pretrained on the test set, no training"},
    {"experiment.version", T_FLOAT, FIELD(version), "1.0", .doc = "run version"},
    {"experiment.output", T_PATH, FIELD(output), "",
     .doc = "CSV results table to append a row to, a path ending in .csv relative to the run "
            "directory (no '..', no symbolic link on the way); empty = none"},
    {"experiment.checkpoint_dir", T_PATH, FIELD(checkpoint_dir), "",
     .doc = "where checkpoints go: DIR/RUNDIR-HASH/checkpoint.h5, one directory per run "
            "directory; empty = the run directory"},
    {"experiment.seed", T_U64, FIELD(seed), "0", .doc = "random seed"},

    {"checkpoint.every_epochs", T_INT, FIELD(checkpoint_every), "1", .range = ">= 0",
     .doc = "write checkpoint.h5 every N epochs; 0 = only on a signal and at the end"},

    {"train.reduction", T_ENUM_ID, FIELD(reduction), "ordered", comm_reduction_names,
     .doc = "ordered = bitwise reproducible sums, fast = MPI's own order"},
    {"train.measure_wait", T_BOOL, FIELD(measure_wait), "false",
     .doc = "meet at a barrier before each reduction, so that run.h5 /rounds_measured tells "
            "the wait for the slowest rank (wait_s) from the time the data travels (comm_s); "
            "costs one barrier per round and never changes the results"},
    {"train.eval_batch", T_INT, FIELD(eval_batch), "256", .range = "[1, 16384]",
     .doc = "images per evaluation call"},

    {"metrics.every_steps", T_INT, FIELD(metrics_every_steps), "0", .range = ">= 0",
     .doc = "record the mean training loss and accuracy of every N global steps (and of each "
            "epoch's last, shorter interval) in run.h5 /intervals; 0 = off"},
    {"eval.every_rounds", T_INT, FIELD(eval_every_rounds), "0", .range = ">= 0",
     .doc = "evaluate the global model on the validation split every M communication rounds "
            "(run.h5 /evals; needs data.val_fraction > 0); 0 = off"},
    {"comm.compress", T_COMPRESS, FIELD(comm_compress), "none",
     .doc = "compression of the synchronous gradient reduction (centralized training, "
            "post-local SGD's synchronous epochs; docs/compression.md): none (today's "
            "dense reduction), fp16, bf16, int8, topk:RATIO (with error feedback) or "
            "powersgd:RANK"},
    {"comm.replicas", T_INT, FIELD(replicas), "4", .range = "[1, 65536]",
     .doc = "R: centralized training with comm.compress: the global batch's leaves (16 "
            "images, or a batch-norm model's ghost batch) are split into R replica batches, each replica's gradient compressed "
            "with its own error-feedback state; the number of ranks must divide R and R the "
            "batch's leaves (post-local SGD's participants are the K workers)"},
    {"comm.keep", T_STR, FIELD(comm_compress.keep), "",
     .doc = "tensors comm.compress sends dense (float32): a comma list of biases, last (the "
            "last layer) and name prefixes; empty = none"},
    {"comm.powersgd.start_iter", T_INT, FIELD(comm_psgd_start), "1000", .range = ">= 0",
     .doc = "PowerSGD's start_powerSGD_iter: reductions of plain float32 allreduce first "
            "(the hook's default 1000)"},
    {"comm.powersgd.min_compression_rate", T_FLOAT, FIELD(comm_compress.min_rate), "2.0",
     .range = "> 0",
     .doc = "PowerSGD: a tensor is compressed when (rows + cols) r times this is below rows "
            "cols (the hook's min_compression_rate)"},
    {"comm.powersgd.error_feedback", T_BOOL, FIELD(comm_compress.error_feedback), "true",
     .doc = "PowerSGD: keep each participant's residual and add it next round"},
    {"comm.powersgd.warm_start", T_BOOL, FIELD(comm_compress.warm_start), "true",
     .doc = "PowerSGD: start from the last round's Q (else a fresh draw each round)"},
};
const int cfg_nkeys = (int)(sizeof cfg_keys / sizeof cfg_keys[0]);

const cfg_key_t *cfg_key_find(const char *dotted) {
  for (int i = 0; i < cfg_nkeys; i++)
    if (!strcmp(cfg_keys[i].key, dotted)) return &cfg_keys[i];
  return NULL;
}

/* Whole-string parses: strtoll/strtod alone would accept "12abc" and " 1". */
static int parse_ll(const char *s, long long *out) {
  char *end;
  if (!*s || isspace((unsigned char)*s)) return -1;
  errno = 0;
  *out = strtoll(s, &end, 10);
  return *end || errno ? -1 : 0;
}

static int parse_double(const char *s, double *out) {
  char *end;
  if (!*s || isspace((unsigned char)*s)) return -1;
  *out = strtod(s, &end);
  return *end || !isfinite(*out) ? -1 : 0;
}

int cfg_is_null(const char *s) {
  return !*s || !strcmp(s, "~") || !strcasecmp(s, "null") || !strcmp(s, "None");
}

static int store_string(char *field, size_t cap, const char *s) {
  size_t n = strlen(s);
  if (n >= cap) return dpt_fail("longer than %zu characters", cap - 1);
  /* Zero the tail so that equal configs are equal byte for byte (memcmp). */
  memset(field, 0, cap);
  memcpy(field, s, n);
  return 0;
}

/* Value i of an enum key, from its table's rows or its list; NULL past the last. */
static const char *value_at(const cfg_key_t *k, int i) {
  return k->spell ? k->spell(i) : k->values[i];
}

static int find_value(const cfg_key_t *k, const char *s) {
  for (int i = 0; value_at(k, i); i++)
    if (!strcasecmp(value_at(k, i), s)) return i;
  return -1;
}

int cfg_key_set(dpt_config_t *cfg, const cfg_key_t *k, const char *text, int plain) {
  char *field = (char *)cfg + k->off;
  long long ll;
  double d;
  int b, idx;
  if (plain && cfg_is_null(text)) text = k->def;
  if (k->autoable && !strcasecmp(text, "auto")) {
    if (k->type == T_FLOAT)
      *(double *)field = -1.0;
    else
      *(int *)field = -1;
    return 0;
  }
  switch (k->type) {
  case T_INT:
    if (parse_ll(text, &ll) < 0 || ll < INT_MIN || ll > INT_MAX) break;
    *(int *)field = (int)ll;
    return 0;
  case T_U64: {
    char *end;
    if (!isdigit((unsigned char)*text)) break;
    errno = 0;
    unsigned long long u = strtoull(text, &end, 10);
    if (*end || errno) break;
    *(uint64_t *)field = u;
    return 0;
  }
  case T_FLOAT:
    if (parse_double(text, &d) < 0) break;
    *(double *)field = d;
    return 0;
  case T_BOOL:
    if (dpt_parse_bool(text, &b) < 0) break; /* the message is the key's, below */
    *(int *)field = b;
    return 0;
  case T_ENUM:
    if ((idx = find_value(k, text)) < 0) break;
    return store_string(field, k->size, value_at(k, idx));
  case T_ENUM_ID:
    if ((idx = find_value(k, text)) < 0) break;
    DPT_ASSERT(k->size == sizeof(int));
    *(int *)field = idx;
    return 0;
  case T_SHARDING:
    if (shard_scheme_parse(text, (shard_scheme_t *)field) < 0) break;
    return 0;
  case T_COMPRESS:
    if (comm_compress_parse(text, (comm_compress_opts_t *)field) < 0) break;
    return 0;
  case T_STR:
  case T_PATH:
    return store_string(field, k->size, text);
  case T_IGNORED:
    return 0;
  }
  char want[256];
  return dpt_fail("expected %s, got '%s'", cfg_key_expected(k, want, sizeof want), text);
}

/* spec is ">= x", "> x", or an interval "[a, b)" with either kind of bracket. */
static int in_range(const char *spec, double v) {
  char lo_br, hi_br;
  double lo, hi;
  if (spec[0] == '>') return spec[1] == '=' ? v >= atof(spec + 2) : v > atof(spec + 1);
  if (sscanf(spec, "%c%lf, %lf%c", &lo_br, &lo, &hi, &hi_br) != 4)
    DPT_PANIC("bad range '%s'", spec);
  return (lo_br == '[' ? v >= lo : v > lo) && (hi_br == ']' ? v <= hi : v < hi);
}

int cfg_key_check(const dpt_config_t *cfg, const cfg_key_t *k) {
  const char *field = (const char *)cfg + k->off;
  if (!k->range) return 0;
  double v = k->type == T_FLOAT ? *(const double *)field : *(const int *)field;
  if (k->autoable && v == -1) return 0;
  if (in_range(k->range, v)) return 0;
  char text[64];
  cfg_key_text(cfg, k, text, sizeof text);
  return dpt_fail("must be %s%s, got %s", k->range[0] == '>' ? "" : "in ", k->range, text);
}

/* The shortest text that reads back to the same double, with a '.' so YAML sees a float. */
static void format_double(char *buf, size_t cap, double v) {
  dpt_format_double(buf, cap, v);
  if (!strpbrk(buf, ".e")) strncat(buf, ".0", cap - strlen(buf) - 1);
}

void cfg_key_text(const dpt_config_t *cfg, const cfg_key_t *k, char *buf, size_t cap) {
  const char *field = (const char *)cfg + k->off;
  if (k->autoable && (k->type == T_FLOAT ? *(const double *)field == -1.0
                                          : *(const int *)field == -1)) {
    snprintf(buf, cap, "auto");
    return;
  }
  switch (k->type) {
  case T_INT: snprintf(buf, cap, "%d", *(const int *)field); break;
  case T_U64: snprintf(buf, cap, "%" PRIu64, *(const uint64_t *)field); break;
  case T_FLOAT: format_double(buf, cap, *(const double *)field); break;
  case T_BOOL: snprintf(buf, cap, "%s", *(const int *)field ? "true" : "false"); break;
  case T_ENUM_ID: snprintf(buf, cap, "%s", value_at(k, *(const int *)field)); break;
  case T_SHARDING: shard_scheme_text((const shard_scheme_t *)field, buf, cap); break;
  case T_COMPRESS: comm_compress_text((const comm_compress_opts_t *)field, buf, cap); break;
  case T_ENUM:
  case T_STR:
  case T_PATH: snprintf(buf, cap, "%s", field); break;
  case T_IGNORED: snprintf(buf, cap, "%s", ""); break;
  }
}

const char *cfg_key_expected(const cfg_key_t *k, char *buf, size_t cap) {
  const char *s = "anything";
  switch (k->type) {
  case T_INT: s = k->autoable ? "an integer or auto" : "an integer"; break;
  case T_U64: s = "a non-negative integer"; break;
  case T_FLOAT: s = k->autoable ? "a number or auto" : "a number"; break;
  case T_BOOL: s = k->autoable ? "true, false or auto" : "true or false"; break;
  case T_STR: s = "a string"; break;
  case T_PATH: s = "a path"; break;
  case T_SHARDING: s = SHARD_SCHEME_FORMS; break;
  case T_COMPRESS: comm_compress_expected(buf, cap); return buf;
  case T_IGNORED: break;
  case T_ENUM:
  case T_ENUM_ID: {
    size_t n = (size_t)snprintf(buf, cap, "one of:");
    for (int i = 0; value_at(k, i) && n < cap; i++)
      n += (size_t)snprintf(buf + n, cap - n, "%s %s", i ? "," : "",
                            *value_at(k, i) ? value_at(k, i) : "\"\"");
    return buf;
  }
  }
  snprintf(buf, cap, "%s", s);
  return buf;
}
