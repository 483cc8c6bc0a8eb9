/* dpt-inspect - looks inside dpt's HDF5 files: a readable summary of each, or with
 * --check a validation against hdf5-schema/, or a checkpoint's weights for PyTorch
 * (src/inspect/inspect.h). */
#include <getopt.h>
#include <stdio.h>

#include "../core/cli.h"
#include "../core/exitcodes.h"
#include "../inspect/inspect.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: dpt-inspect [--check] FILE...\n"
          "       dpt-inspect --export-torch CHECKPOINT -o OUT.h5 [--data DATASET]\n"
          "\n"
          "Prints a readable summary of dpt HDF5 files: for a run (run.h5) what ran, with\n"
          "which config, how far it got, its last metrics and final test accuracies; for a\n"
          "dataset its images, classes and statistics; for a checkpoint its position and\n"
          "the size of its state.\n"
          "\n"
          "  --check     validate each file against its schema (hdf5-schema/KIND.yaml, chosen\n"
          "              by the file's root attribute `schema`): groups, attributes and\n"
          "              datasets with types, shapes and units, `complete` = 1, the\n"
          "              schema_version, and the crc32 attributes of the data they cover.\n"
          "              Prints \"FILE: ok\", or one line per difference naming its path;\n"
          "              objects the schema does not describe are warnings.\n"
          "  --export-torch CHECKPOINT\n"
          "              write the checkpoint's final weights for PyTorch to -o OUT.h5:\n"
          "              one float32 dataset per tensor with torch.nn's name and shape\n"
          "              (conv1.weight (cout, cin, k, k), fc1.weight in (c, h, w) order)\n"
          "              and the input's mean, std and padding as attributes\n"
          "              (hdf5-schema/torch.yaml); --data names the dataset when it\n"
          "              is not at the checkpoint's data.path\n"
          "  -h, --help  this text\n"
          "  --version   the version\n"
          "\n"
          "The schema directory is $DPT_SCHEMA_DIR, else BIN/../hdf5-schema next to this\n"
          "program, else ./hdf5-schema.\n"
          "\n"
          "Examples:\n"
          "  dpt-inspect runs/demo/run.h5\n"
          "  dpt-inspect data/fashion-mnist.h5 runs/*/run.h5\n"
          "  dpt-inspect --check runs/demo/run.h5 runs/demo/checkpoint.h5\n"
          "  dpt-inspect --export-torch runs/demo/checkpoint.h5 -o lenet.h5\n"
          "\n"
          "Exit status: 0 every file readable (and with --check, conforming), 1 otherwise,\n"
          "2 bad usage.\n");
}

int main(int argc, char **argv) {
  if (cli_version_asked(argc, argv)) return cli_print_version("dpt-inspect");
  static const struct option opts[] = {{"check", no_argument, NULL, 'c'},
                                       {"export-torch", required_argument, NULL, 'e'},
                                       {"data", required_argument, NULL, 'd'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  int check = 0, opt;
  const char *export = NULL, *out = NULL, *data = NULL;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
    switch (opt) {
      case 'c': check = 1; break;
      case 'e': export = optarg; break;
      case 'o': out = optarg; break;
      case 'd': data = optarg; break;
      case 'h': usage(stdout); return DPT_EXIT_OK;
      default: return cli_usage_error("dpt-inspect", "unknown option %s", argv[optind - 1]);
    }
  }
  if (export || out || data) {
    if (!export || !out || check || optind != argc)
      return cli_usage_error("dpt-inspect", "%s", "expected --export-torch CHECKPOINT -o OUT.h5 "
                             "[--data DATASET] and nothing else");
    if (insp_export_torch(export, out, data) < 0) return cli_fail("dpt-inspect");
    printf("wrote %s\n", out);
    return DPT_EXIT_OK;
  }
  if (optind == argc) return cli_usage_error("dpt-inspect", "%s", "expected at least one FILE");
  int failed = insp_files(argv + optind, argc - optind, check);
  return failed < 0 ? cli_fail("dpt-inspect") : failed ? DPT_EXIT_ERROR : DPT_EXIT_OK;
}
