// SPDX-License-Identifier: Apache-2.0
#include "process/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <system_error>

extern char** environ;

namespace cohort::detail {
namespace {

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

struct pipe_pair {
  unique_fd read_end, write_end;
};

pipe_pair make_pipe() {
  int fds[2];
  // O_CLOEXEC atomically: another thread's concurrent spawn must not inherit our ends.
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno(errno, "pipe2");
  return {unique_fd(fds[0]), unique_fd(fds[1])};
}

// RAII for the posix_spawn attribute objects.
struct spawn_setup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  spawn_setup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~spawn_setup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  spawn_setup(const spawn_setup&) = delete;
  spawn_setup& operator=(const spawn_setup&) = delete;
};

std::string_view name_of(const char* entry) {
  const char* eq = std::strchr(entry, '=');
  return eq ? std::string_view(entry, static_cast<std::size_t>(eq - entry))
            : std::string_view(entry);
}

// environ with the extra NAME=VALUE entries added (an extra entry replaces an inherited
// one of the same name).
std::vector<char*> merged_environment(const std::vector<std::string>& extra) {
  std::vector<char*> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    bool overridden = false;
    for (const auto& x : extra)
      if (name_of(x.c_str()) == name_of(*e)) overridden = true;
    if (!overridden) env.push_back(*e);
  }
  for (const auto& x : extra) env.push_back(const_cast<char*>(x.c_str()));
  env.push_back(nullptr);
  return env;
}

unique_fd open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  const long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd >= 0) {
    ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
    return unique_fd(static_cast<int>(fd));
  }
#else
  (void)pid;
#endif
  return unique_fd();  // ENOSYS (kernel < 5.3): the watcher polls waitid instead
}

}  // namespace

spawned_child spawn_in_new_group(const spawn_request& request) {
  const auto& argv = *request.argv;
  if (argv.empty() || argv[0].empty())
    throw std::system_error(std::make_error_code(std::errc::invalid_argument),
                            "run_process: empty argv");

  spawn_setup setup;
  spawned_child child;

  // stdin: a socket rather than a pipe so the writer can use send(MSG_NOSIGNAL) and a
  // child that stops reading early never raises SIGPIPE in the caller.
  unique_fd stdin_child_end;
  if (request.feed_stdin) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
      throw_errno(errno, "socketpair");
    child.stdin_writer.reset(sv[0]);
    stdin_child_end.reset(sv[1]);
    ::shutdown(sv[0], SHUT_RD);
    ::shutdown(sv[1], SHUT_WR);
    posix_spawn_file_actions_adddup2(&setup.actions, sv[1], STDIN_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  pipe_pair out, err;
  if (request.capture) {
    out = make_pipe();
    err = make_pipe();
    posix_spawn_file_actions_adddup2(&setup.actions, out.write_end.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&setup.actions, err.write_end.get(), STDERR_FILENO);
  }
  if (!request.working_directory->empty()) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 29))
    posix_spawn_file_actions_addchdir_np(&setup.actions, request.working_directory->c_str());
#else
    throw std::system_error(std::make_error_code(std::errc::function_not_supported),
                            "run_process: working_directory needs glibc 2.29");
#endif
  }

  // A new process group (pgid = the child's pid) so one kill(-pgid) reaches everything the
  // command starts; signals blocked or ignored in the caller (cohort-run blocks SIGINT and
  // SIGTERM in all its threads) are reset so the child behaves as from a shell.
  short flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  posix_spawnattr_setpgroup(&setup.attr, 0);
  sigset_t none, all_catchable;
  sigemptyset(&none);
  sigfillset(&all_catchable);
  sigdelset(&all_catchable, SIGKILL);
  sigdelset(&all_catchable, SIGSTOP);
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setsigdefault(&setup.attr, &all_catchable);
  posix_spawnattr_setflags(&setup.attr, flags);

  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  char** envp = environ;
  if (!request.extra_environment->empty()) {
    env = merged_environment(*request.extra_environment);
    envp = env.data();
  }

  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, args[0], &setup.actions, &setup.attr, args.data(), envp);
  if (rc != 0) throw_errno(rc, "cannot start " + argv[0]);
  child.pid = pid;
  child.pidfd = open_pidfd(pid);
  child.stdout_reader = std::move(out.read_end);
  child.stderr_reader = std::move(err.read_end);
  for (int fd : {child.stdout_reader.get(), child.stderr_reader.get(), child.stdin_writer.get()})
    if (fd >= 0) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return child;  // the child's ends close here, so EOF arrives when the child's group is done
}

}  // namespace cohort::detail
