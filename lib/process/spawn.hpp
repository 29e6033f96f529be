// SPDX-License-Identifier: Apache-2.0
// Starting a child in its own process group with posix_spawn (no fork of a big process:
// glibc's posix_spawn uses CLONE_VFORK, so the parent's memory is never copied).
#pragma once

#include <string>
#include <vector>

#include <sys/types.h>

#include "process/unique_fd.hpp"

namespace cohort::detail {

struct spawn_request {
  const std::vector<std::string>* argv;
  const std::vector<std::string>* extra_environment;
  const std::string* working_directory;  // empty: the caller's
  bool feed_stdin;                       // true: stdin is a socket we write; else /dev/null
  bool capture;                          // true: stdout and stderr are pipes we read
};

struct spawned_child {
  pid_t pid = -1;                          // also the process group id
  unique_fd pidfd;                         // invalid where the kernel has no pidfd_open
  unique_fd stdin_writer;                  // valid when feed_stdin
  unique_fd stdout_reader, stderr_reader;  // valid when capture
};

// Throws std::system_error when the child cannot be started (ENOENT: argv[0] not found).
spawned_child spawn_in_new_group(const spawn_request& request);

}  // namespace cohort::detail
