/* dpt-data - imports a dataset's official files into data/NAME.h5 (serial; see
 * src/data/import.h for the formats and hdf5-schema/dataset.yaml for the layout). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../core/cli.h"
#include "../core/err.h"
#include "../core/fsutil.h"
#include "../data/import.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: dpt-data FORMAT [--src DIR] [-o OUT] [--limit N] [--force]\n"
          "\n"
          "Imports a dataset's official distribution files into one HDF5 file.\n"
          "\n"
          "  FORMAT       one of:");
  for (const dataset_format_t *f = dataset_formats; f->name; f++) fprintf(out, " %s", f->name);
  fprintf(out,
          "\n"
          "  --src DIR    directory of the source files (default per format, below)\n"
          "  -o OUT       output file (default data/FORMAT.h5; its directory is created)\n"
          "  --limit N    import only the first N images of each split\n"
          "  --force      replace OUT if it exists\n"
          "  -h, --help   this text\n"
          "  --version    the version\n"
          "\n"
          "Default source directories:\n");
  for (const dataset_format_t *f = dataset_formats; f->name; f++)
    fprintf(out, "  %-14s %s\n", f->name, f->default_src);
  fprintf(out,
          "\n"
          "Examples:\n"
          "  dpt-data fashion-mnist\n"
          "  dpt-data fashion-mnist --limit 1000 -o data/fmnist-small.h5\n"
          "  dpt-data cifar100 --src ~/Downloads/cifar-100-binary --force\n");
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void print_summary(const dataset_import_t *imp, const char *out, double seconds) {
  const dpt_dataset_t *ds = &imp->ds;
  struct stat st;
  printf("%s: %lld train + %lld test images of %dx%dx%d, %d classes\n", ds->name,
         (long long)ds->train.n, (long long)ds->test.n, ds->channels, ds->height, ds->width,
         ds->num_classes);
  printf("train mean");
  for (int c = 0; c < ds->channels; c++) printf(" %.4f", ds->mean[c]);
  printf(", std");
  for (int c = 0; c < ds->channels; c++) printf(" %.4f", ds->std[c]);
  printf("\nwrote %s (%.1f MB) in %.2f s\n", out,
         stat(out, &st) == 0 ? (double)st.st_size / 1e6 : 0.0, seconds);
}

int main(int argc, char **argv) {
  if (cli_version_asked(argc, argv)) return cli_print_version("dpt-data");
  static const struct option opts[] = {
      {"src", required_argument, NULL, 's'},   {"output", required_argument, NULL, 'o'},
      {"limit", required_argument, NULL, 'l'}, {"force", no_argument, NULL, 'f'},
      {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
  const char *src = NULL, *out = NULL;
  long long limit = 0;
  int force = 0, opt;
  opterr = 0;  /* our own messages, with the exit code 2 of a usage error */
  while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
    char *end;
    switch (opt) {
      case 's': src = optarg; break;
      case 'o': out = optarg; break;
      case 'f': force = 1; break;
      case 'h': usage(stdout); return 0;
      case 'l':
        errno = 0;
        limit = strtoll(optarg, &end, 10);
        if (errno || *end || end == optarg || limit < 1)
          return cli_usage_error("dpt-data", "--limit wants a positive integer, not '%s'", optarg);
        break;
      default: return cli_usage_error("dpt-data", "unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind != argc - 1) return cli_usage_error("dpt-data", "%s", "expected exactly one FORMAT");
  const char *format = argv[optind];
  if (!dataset_default_src(format)) return cli_usage_error("dpt-data", "unknown format '%s'", format);
  char defout[256], dir[4096];
  if (!src) src = dataset_default_src(format);
  if (!out) {
    snprintf(defout, sizeof defout, "data/%s.h5", format);
    out = defout;
  }
  if (dpt_file_exists(out) && !force) {
    dpt_fail("%s exists; pass --force to replace it", out);
    return cli_fail("dpt-data");
  }
  double t0 = now();
  dataset_import_t imp;
  if (dataset_import(&imp, format, src, limit) < 0) return cli_fail("dpt-data");
  dpt_dirname(dir, sizeof dir, out);
  if (dpt_mkdirs(dir) < 0 || dataset_write(&imp, out) < 0) {
    dataset_import_free(&imp);
    return cli_fail("dpt-data");
  }
  print_summary(&imp, out, now() - t0);
  dataset_import_free(&imp);
  return 0;
}
