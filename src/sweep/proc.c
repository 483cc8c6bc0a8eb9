/* proc.c - child processes for dpt-sweep (see proc.h). */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/err.h"
#include "../core/readfile.h"

extern char **environ;

int sweep_run_cmd(char *const argv[], char **out, size_t max_output, const char *log_path) {
  int pipefd[2] = {-1, -1};
  posix_spawn_file_actions_t fa;
  if (out) *out = NULL;
  if (!max_output) max_output = SWEEP_MAX_OUTPUT;
  if (out && pipe(pipefd) != 0) return dpt_fail("pipe: %s", strerror(errno));
  posix_spawn_file_actions_init(&fa);
  if (out) {
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_addclose(&fa, pipefd[0]);
    posix_spawn_file_actions_addclose(&fa, pipefd[1]);
    if (log_path)
      posix_spawn_file_actions_addopen(&fa, 2, log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  } else if (log_path) {
    posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
  }
  pid_t pid;
  int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (out) close(pipefd[1]);
  if (err) {
    if (out) close(pipefd[0]);
    return dpt_fail("cannot run %s: %s", argv[0], strerror(err));
  }
  int rc = 0;
  if (out) {
    rc = dpt_read_fd(pipefd[0], max_output, out, NULL);
    close(pipefd[0]);
    if (rc < 0) kill(pid, SIGTERM); /* it would block on a full pipe */
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return dpt_fail("waitpid: %s", strerror(errno));
  if (rc < 0) return dpt_wrap("%s", argv[0]);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
