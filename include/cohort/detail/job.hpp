// A job is what a deque or the injection queue holds: a pointer to a header embedded in
// the storage of the work itself (a task_group child's block, a gather child on its
// caller's frame, a detached task). No std::function, no allocation of its own.
#pragma once

namespace cohort::detail {

struct job {
  // Runs the work and publishes its completion. Never throws: every exception of user
  // code is caught inside and stored with the task.
  using run_fn = void (*)(job*) noexcept;
  run_fn run;
};

}  // namespace cohort::detail
