/* dpt-bench - how fast one training step runs, and where its time goes: the options,
 * then bench/ (bench.h) measures and prints. Data is synthetic (random uint8 images in
 * memory); nothing is written but a scratch directory it removes. */
#include <cblas.h>
#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../bench/bench.h"
#include "../core/cli.h"
#include "../core/exitcodes.h"

static void usage(FILE *out) {
  fprintf(out,
"usage: dpt-bench [options]\n"
"\n"
"Measures the training step of the seed LeNet (3x32x32 inputs, 100 classes, SGDM) on\n"
"one thread through trainer_step, as a fraction of the core's FP32 FMA peak (measured\n"
"first, in registers), splits it into phases, and measures single-thread sgemm for\n"
"comparison. Prints numbers only; never fails on a slow result. Times are this\n"
"thread's CPU time; DPT_KERNEL=scalar|avx2|avx512 picks the kernel path.\n"
"\n"
"options:\n"
"  -b, --batch N       batch size (default 64)\n"
"  -s, --seconds S     seconds to time the step for (default 4)\n"
"  -m, --model NAME    LeNet (default), LeNet5, ResNet20, ResNet32, ResNet44, ResNet56\n"
"  --sgemm N           size of the square sgemm (default 2048; 0 skips all sgemm)\n"
"  --step-only         only the step and its phases, (a) and (b): no sgemm,\n"
"                      checkpoint, local-method or compressor timings (for rounds\n"
"                      paired with another program's, as bench/throughput.sh runs)\n"
"  -h, --help          this help\n"
"  --version           the version\n");
}

static int parse_args(int argc, char **argv, bench_opts_t *o) {
  enum { OPT_SGEMM = 256, OPT_STEP_ONLY };
  static const struct option longopts[] = {
      {"batch", required_argument, 0, 'b'}, {"seconds", required_argument, 0, 's'},
      {"model", required_argument, 0, 'm'}, {"sgemm", required_argument, 0, OPT_SGEMM},
      {"step-only", no_argument, 0, OPT_STEP_ONLY}, {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "b:s:m:h", longopts, NULL)) != -1) {
    switch (c) {
      case 'b': o->batch = atoi(optarg); break;
      case 's': o->seconds = atof(optarg); break;
      case 'm': o->model = optarg; break;
      case OPT_SGEMM: o->sgemm_n = atoi(optarg); break;
      case OPT_STEP_ONLY: o->step_only = 1; break;
      case 'h': usage(stdout); return 1;
      default: usage(stderr); return -1;
    }
  }
  if (optind < argc || o->batch < 1 || o->batch > BENCH_TRAIN / 2 || !(o->seconds > 0) ||
      o->sgemm_n < 0) {
    usage(stderr);
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (cli_version_asked(argc, argv)) return cli_print_version("dpt-bench");
  MPI_Init(&argc, &argv);
  openblas_set_num_threads(1);
  bench_opts_t o = {.batch = 64, .seconds = 4, .model = "LeNet", .sgemm_n = 2048};
  int rc = parse_args(argc, argv, &o);
  rc = rc > 0 ? DPT_EXIT_OK
       : rc < 0 ? DPT_EXIT_USAGE
       : bench_run(&o) < 0 ? cli_fail("dpt-bench") : DPT_EXIT_OK;
  MPI_Finalize();
  return rc;
}
