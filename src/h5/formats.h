/* formats.h - the names and versions of the files dpt writes, in one place: the root
 * attribute `schema` of each, the schema_version its writer stamps and the newest major
 * version its reader understands. The layouts are in hdf5-schema/; each format has one
 * owner that reads and writes it (docs/ARCHITECTURE.md). */
#ifndef DPT_FORMATS_H
#define DPT_FORMATS_H

/* data/NAME.h5: src/data/dataset.c (read), dataset_write.c (write) */
#define DATASET_SCHEMA "dpt-dataset"
#define DATASET_SCHEMA_VERSION "1.0"
#define DATASET_SCHEMA_MAJOR 1

/* run.h5: src/io/runfile.c (write), runfile_read.c (read) */
#define RUN_SCHEMA "dpt-run"
/* 1.1: /config attributes carry their type (1.0: strings). Optional parts added since
 * (readers take files with or without them): /rounds and /rounds_measured, the
 * communication ledger; /metrics bytes and mpi_bytes_sent (bytes_sent before); the
 * root attribute sum_block, the writing build's summation order. */
#define RUN_SCHEMA_VERSION "1.1"
/* The newest major version this dpt reads; a file of a newer one is refused. */
#define RUN_SCHEMA_MAJOR 1

/* checkpoint.h5: src/train/checkpoint.c (write, load), checkpoint_head.c (head) */
#define CKPT_SCHEMA "dpt-checkpoint"
/* Optional parts added since 1.0: /rounds and /rounds_measured, the ledger so far;
 * /comm_compress and /outer_compress, the compressors' state; the root attribute
 * sum_block, the writing build's summation order. */
#define CKPT_SCHEMA_VERSION "1.0"
#define CKPT_SCHEMA_MAJOR 1

/* model.h5 for PyTorch: src/inspect/export_torch.c (write only) */
#define TORCH_SCHEMA "dpt-torch"
#define TORCH_SCHEMA_VERSION "1.0"
/* the same for a ResNet: batch-norm tensors, state_dict names (hdf5-schema/torch-resnet.yaml) */
#define TORCH_RESNET_SCHEMA "dpt-torch-resnet"
#define TORCH_RESNET_SCHEMA_VERSION "1.0"

#endif
