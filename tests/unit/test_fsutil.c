/* test_fsutil.c - unit tests of temporary names (unique per writer), the run-directory
 * lock and the removal of stale temporary files (src/core/fsutil.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/core/err.h"
#include "../../src/core/fsutil.h"
#include "test.h"

TEST(tmp_names_are_unique_per_writer_and_unpredictable) {
  char host[256] = "", want[600], got[600], id[400];
  gethostname(host, sizeof host - 1);
  /* HOST.PID and 32 random bits, the same for every name this process makes */
  dpt_writer_id(id, sizeof id);
  snprintf(want, sizeof want, "%s.%ld.", host, (long)getpid());
  CHECK(strncmp(id, want, strlen(want)) == 0);
  CHECK(strlen(id) == strlen(want) + 8 && strspn(id + strlen(want), "0123456789abcdef") == 8);
  snprintf(want, sizeof want, "d/run.h5.tmp.%s", id);
  CHECK_OK(dpt_tmp_name(got, sizeof got, "d/run.h5"));
  CHECK(strcmp(got, want) == 0);
  /* ranks writing one file take rank 0's id */
  dpt_set_tmp_writer("node7.4242");
  CHECK_OK(dpt_tmp_name(got, sizeof got, "d/run.h5"));
  CHECK(strcmp(got, "d/run.h5.tmp.node7.4242") == 0);
  dpt_set_tmp_writer("");
  CHECK_OK(dpt_tmp_name(got, sizeof got, "d/run.h5"));
  CHECK(strcmp(got, want) == 0);
  CHECK_FAILS(dpt_tmp_name(got, 12, "d/run.h5"));
}

/* A link planted at a temporary name is replaced, never written through; a planted
 * RUN_DIR/.lock link is refused and its target keeps its bytes. */
TEST(temporaries_and_the_lock_never_follow_a_planted_link) {
  char dir[] = "/tmp/dpt-test-plant-XXXXXX", victim[600], tmp[600], lock[600], got[16] = "";
  CHECK(mkdtemp(dir) != NULL);
  snprintf(victim, sizeof victim, "%s/victim", dir);
  snprintf(tmp, sizeof tmp, "%s/run.h5.tmp.host.1", dir);
  snprintf(lock, sizeof lock, "%s/.lock", dir);
  FILE *v = fopen(victim, "w");
  CHECK(v && fputs("precious", v) >= 0 && fclose(v) == 0);
  CHECK(symlink(victim, tmp) == 0 && symlink(victim, lock) == 0);
  CHECK_OK(dpt_write_tmp(tmp, "new", 3));
  FILE *t = dpt_fopen_tmp(tmp); /* a stream over a fresh file, too */
  CHECK(t != NULL);
  if (t) fclose(t);
  int fd = -1;
  CHECK_FAILS(dpt_lock_dir(dir, &fd));
  CHECK(strstr(dpt_errmsg(), ".lock: a symbolic link") != NULL);
  v = fopen(victim, "r");
  CHECK(v && fgets(got, sizeof got, v) && !strcmp(got, "precious"));
  if (v) fclose(v);
  unlink(tmp);
  unlink(lock);
  unlink(victim);
  rmdir(dir);
}

TEST(lock_dir_refuses_a_second_holder_naming_the_first) {
  char dir[] = "/tmp/dpt-test-lock-XXXXXX", host[256] = "", holder[600];
  CHECK(mkdtemp(dir) != NULL);
  gethostname(host, sizeof host - 1);
  int fd = -1, fd2 = -1;
  CHECK_OK(dpt_lock_dir(dir, &fd));
  /* flock belongs to the open file: a second open conflicts even in this process */
  CHECK_FAILS(dpt_lock_dir(dir, &fd2));
  snprintf(holder, sizeof holder, "is in use by another trainer (host %s, pid %ld, Slurm job",
           host, (long)getpid());
  CHECK(strstr(dpt_errmsg(), holder) != NULL);
  close(fd);
  CHECK_OK(dpt_lock_dir(dir, &fd2));
  close(fd2);
  char path[600];
  snprintf(path, sizeof path, "%s/.lock", dir);
  unlink(path);
  rmdir(dir);
}

TEST(remove_stale_tmps_takes_only_that_files_temporaries) {
  char dir[] = "/tmp/dpt-test-stale-XXXXXX", path[600];
  CHECK(mkdtemp(dir) != NULL);
  const char *names[] = {"run.h5.tmp.a.1", "run.h5.tmp.b.2", "run.h5", "checkpoint.h5.tmp.a.1",
                         "run.h5.tmpx"};
  for (int i = 0; i < 5; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) fclose(f);
  }
  snprintf(path, sizeof path, "%s/run.h5", dir);
  CHECK_OK(dpt_remove_stale_tmps(path));
  for (int i = 0; i < 5; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    CHECK((access(path, F_OK) == 0) == (i >= 2));
    unlink(path);
  }
  rmdir(dir);
}
