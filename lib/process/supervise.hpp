// SPDX-License-Identifier: Apache-2.0
// Watching a started child until it is reaped: drains its output, feeds its stdin, kills
// its process group on a stop request or a timeout, and cleans up what it leaves behind.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <sys/resource.h>

#include "process/spawn.hpp"

namespace cohort::detail {

enum class kill_reason { none, cancelled, timed_out };

struct supervise_request {
  std::string_view input;  // written to stdin_writer (when valid), then closed
  std::optional<std::chrono::steady_clock::time_point> deadline;
  std::chrono::nanoseconds term_grace;
  int stop_fd = -1;  // becomes readable when the caller's stop was requested
  const std::function<void(std::string_view, bool)>* on_output = nullptr;
  std::string* out = nullptr;
  std::string* err = nullptr;
};

struct supervise_outcome {
  int wait_status = 0;  // as from wait4
  struct rusage usage {};
  kill_reason killed = kill_reason::none;
};

// Returns once the child was reaped, having killed its group first when asked to (stop
// request or deadline) and having SIGKILLed anything left in its group when the child
// ended. If anything throws meanwhile (on_output, allocation), the group is SIGKILLed and
// the child reaped before the exception leaves.
supervise_outcome supervise(spawned_child& child, const supervise_request& request);

}  // namespace cohort::detail
