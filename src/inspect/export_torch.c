/* export_torch.c - a checkpoint's weights as a PyTorch user expects them: one float32
 * dataset per tensor, named and shaped as in torch.nn (conv1.weight (cout, cin, k, k),
 * fc1.weight (out, c*h*w) in (c, h, w) flatten order), with the input normalisation as
 * root attributes. Layout: hdf5-schema/torch.yaml.
 *
 * dpt's flat buffer differs in three ways (src/nn/model.c, layers.h): conv weights are
 * (cout, k, k, cin) for NHWC activations, fc1's columns follow the last pooled map in
 * (h, w, c) order, and every tensor starts on a 16-float boundary. A ResNet's tensors
 * (src/nn/resnet.h) keep their state_dict names: 3x3 conv weights transposed the same
 * way, fc.weight (classes, 64) as is (the pooled vector has no spatial order), the
 * batch-norm weight, bias, running_mean and running_var (c), and num_batches_tracked
 * an int64 scalar, as PyTorch keeps it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../config/config.h"
#include "../core/err.h"
#include "../data/dataset.h"
#include "../h5/h5util.h"
#include "../nn/model.h"
#include "../nn/resnet.h"
#include "../train/checkpoint.h"
#include "../train/checkpoint_head.h"
#include "inspect.h"

/* (cout, k, k, cin) -> (cout, cin, k, k). */
static void conv_to_torch(const nn_conv_shape_t *s, const float *w, float *out) {
  int k = s->k, ci = s->cin;
  for (int o = 0; o < s->cout; o++)
    for (int y = 0; y < k; y++)
      for (int x = 0; x < k; x++)
        for (int c = 0; c < ci; c++)
          out[(((size_t)o * ci + c) * k + y) * k + x] = w[(((size_t)o * k + y) * k + x) * ci + c];
}

/* fc1 (fout, (h, w, c)) -> (fout, (c, h, w)). */
static void fc1_to_torch(int fout, int c, int h, int w, const float *in, float *out) {
  size_t fin = (size_t)c * h * w;
  for (int o = 0; o < fout; o++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        for (int ch = 0; ch < c; ch++)
          out[o * fin + ((size_t)ch * h + y) * w + x] = in[o * fin + ((size_t)y * w + x) * c + ch];
}

static int write_tensors(hid_t file, const nn_model_t *m, const float *params) {
  float *buf = dpt_alloc(sizeof(float) * m->nparams);
  int rc = 0;
  for (int t = 0; rc == 0 && t < m->ntensors; t++) {
    const nn_tensor_t *ts = &m->tensors[t];
    const float *src = params + ts->offset;
    int layer = t / 2, rank = 1;
    hsize_t dims[4] = {ts->size};
    if (ts->is_bias) {
      memcpy(buf, src, sizeof(float) * ts->size);
    } else if (layer < m->nconv) {
      const nn_conv_shape_t *s = &m->conv[layer];
      rank = 4;
      dims[0] = s->cout, dims[1] = s->cin, dims[2] = s->k, dims[3] = s->k;
      conv_to_torch(s, src, buf);
    } else {
      int f = layer - m->nconv;
      const nn_conv_shape_t *last = &m->conv[m->nconv - 1];
      rank = 2;
      dims[0] = m->fc_out[f], dims[1] = m->fc_in[f];
      if (f == 0)
        fc1_to_torch(m->fc_out[0], last->cout, last->ph, last->pw, src, buf);
      else
        memcpy(buf, src, sizeof(float) * ts->size);
    }
    rc = h5_write_array(file, ts->name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, rank, dims, buf,
                        NULL, 0);
  }
  dpt_free(buf);
  return rc;
}

/* The ResNet convolution whose weight starts at off, or NULL. */
static const nn_conv3_t *resnet_conv_at(const struct nn_resnet *r, size_t off) {
  if (off == r->stem_w) return &r->stem;
  for (int k = 0; k < r->nblocks; k++) {
    if (off == r->blocks[k].w1) return &r->blocks[k].conv1;
    if (off == r->blocks[k].w2) return &r->blocks[k].conv2;
  }
  return NULL;
}

static int write_resnet_tensor(hid_t file, const nn_model_t *m, const nn_tensor_t *ts,
                               const float *src, float *buf) {
  const nn_conv3_t *c = resnet_conv_at(m->resnet, ts->offset);
  hsize_t dims[4] = {ts->size};
  if (strstr(ts->name, "num_batches_tracked")) {
    int64_t count = (int64_t)llround(src[0]);
    return h5_write_array(file, ts->name, H5T_STD_I64LE, H5T_NATIVE_INT64, 0, dims, &count,
                          NULL, 0);
  }
  if (c) {
    nn_conv_shape_t s = {.cin = c->cin, .cout = c->cout, .k = 3};
    dims[0] = c->cout, dims[1] = c->cin, dims[2] = dims[3] = 3;
    conv_to_torch(&s, src, buf);
    return h5_write_array(file, ts->name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, dims, buf,
                          NULL, 0);
  }
  int rank = 1;
  if (!ts->is_bias) rank = 2, dims[0] = m->num_classes, dims[1] = ts->size / m->num_classes;
  return h5_write_array(file, ts->name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, rank, dims, src,
                        NULL, 0);
}

static int write_resnet_tensors(hid_t file, const nn_model_t *m, const float *params) {
  float *buf = dpt_alloc(sizeof(float) * m->nparams);
  int rc = 0;
  for (int t = 0; rc == 0 && t < m->ntensors; t++)
    rc = write_resnet_tensor(file, m, &m->tensors[t], params + m->tensors[t].offset, buf);
  dpt_free(buf);
  return rc;
}

/* What the checkpoint knows of itself: its config, size and position. */
static int read_checkpoint_head(const char *path, dpt_config_t *cfg, int64_t *nparams,
                                int64_t *epoch) {
  ckpt_head_t h;
  if (ckpt_head_open(path, &h, CKPT_HEAD_CONFIG | CKPT_HEAD_NPARAMS | CKPT_HEAD_EPOCH) < 0)
    return -1;
  *nparams = h.nparams;
  *epoch = h.epoch;
  int rc = config_load_string(cfg, h.config, path, NULL, 0);
  ckpt_head_free(&h);
  return rc < 0 ? dpt_wrap("%s", path) : 0;
}

static int write_normalisation(hid_t file, const dpt_dataset_t *ds) {
  int64_t shape[3] = {ds->channels, NN_INPUT_SIZE, NN_INPUT_SIZE};
  /* The pipeline centres the image on the canvas: top, bottom, left, right. */
  int64_t top = (NN_INPUT_SIZE - ds->height) / 2, left = (NN_INPUT_SIZE - ds->width) / 2;
  int64_t pad[4] = {top, NN_INPUT_SIZE - ds->height - top, left,
                    NN_INPUT_SIZE - ds->width - left};
  if (h5_attr_i64v(file, "input_shape", shape, 3) < 0 ||
      h5_attr_i64v(file, "pad", pad, 4) < 0 ||
      h5_attr_f64v(file, "mean", ds->mean, ds->channels) < 0 ||
      h5_attr_f64v(file, "std", ds->std, ds->channels) < 0 ||
      h5_attr_str(file, "dataset", ds->name) < 0 ||
      h5_attr_i64(file, "num_classes", ds->num_classes) < 0)
    return -1;
  return 0;
}

int insp_export_torch(const char *ckpt, const char *out, const char *data_path) {
  dpt_config_t cfg;
  dpt_dataset_t ds;
  nn_model_t m;
  int64_t nparams, epoch;
  memset(&ds, 0, sizeof ds);
  memset(&m, 0, sizeof m);
  float *params = NULL;
  hid_t file = -1;
  char tmp[4096];
  if (read_checkpoint_head(ckpt, &cfg, &nparams, &epoch) < 0) return -1;
  if (!data_path) data_path = cfg.data_path;
  /* Only the dataset's shape and statistics matter here: one image per split. */
  if (dataset_load(&ds, data_path, 1) < 0) {
    dpt_wrap("%s (the dataset the checkpoint was trained on; --data names another)",
             data_path);
    goto fail;
  }
  TRY(nn_model_init(&m, cfg.model, ds.channels, NN_INPUT_SIZE, NN_INPUT_SIZE,
                    ds.num_classes, 1));
  if ((int64_t)m.nparams != nparams) {
    dpt_fail("%s: %lld parameters, but %s on %s has %zu", ckpt, (long long)nparams,
             nn_model_name(cfg.model), data_path, m.nparams);
    goto fail;
  }
  params = dpt_alloc(sizeof(float) * m.nparams);
  TRY(ckpt_read_params(ckpt, "params", params, m.nparams));
  file = h5_create_tmp(out, tmp, sizeof tmp, m.resnet ? TORCH_RESNET_SCHEMA : TORCH_SCHEMA,
                       m.resnet ? TORCH_RESNET_SCHEMA_VERSION : TORCH_SCHEMA_VERSION,
                       "dpt-inspect", H5P_DEFAULT);
  if (file < 0) goto fail;
  if (h5_attr_str(file, "model", nn_model_name(cfg.model)) < 0 ||
      write_normalisation(file, &ds) < 0 ||
      h5_attr_str(file, "source_checkpoint", ckpt) < 0 ||
      h5_attr_i64(file, "epoch", epoch) < 0 ||
      (m.resnet ? write_resnet_tensors(file, &m, params) : write_tensors(file, &m, params)) < 0 ||
      /* Written last: readers trust only a file that has it. */
      h5_attr_i64(file, "complete", 1) < 0) {
    h5_abandon(file, tmp);
    dpt_wrap("%s", out);
    goto fail;
  }
  if (h5_close_publish(file, tmp, out) < 0) {
    dpt_wrap("%s", out);
    goto fail;
  }
  dpt_free(params);
  nn_model_free(&m);
  dataset_free(&ds);
  return 0;
fail:
  dpt_free(params);
  nn_model_free(&m);
  dataset_free(&ds);
  return -1;
}
