// SPDX-License-Identifier: Apache-2.0
// A job is what a deque or the injection queue holds: a pointer to a header embedded in
// the storage of the work itself (a task_group child's block, a gather child on its
// caller's frame, a detached task). No std::function, no allocation of its own.
//
// The header is one pointer to a static descriptor per job type: how to run it, and what
// kind of job it is (so dump() and traces can name it without a per-job field).
#pragma once

#include <cstddef>
#include <cstdint>

namespace cohort::detail {

struct job;
struct cancel_node;

enum class job_kind : std::uint8_t { child, gather_child, range_part, pool_entry };

struct job_type {
  // Runs the work and publishes its completion. Never throws: every exception of user
  // code is caught inside and stored with the task.
  void (*run)(job*) noexcept;
  job_kind kind;
  // The cancellation node the job runs under (a child itself, a gather child's frame).
  // A worker waiting inside a task runs a job only if this node descends from the
  // task's (lib/README.md, "What a wait may run"); null: never inside a wait.
  const cancel_node* (*node)(const job*) noexcept = nullptr;
  // Optional: writes what the job is (a loop piece: "name[lo,hi)") into out, at most
  // `capacity` characters, and returns how many it wrote; for dump() and traces. Null or 0:
  // the job is named by its kind.
  std::size_t (*describe)(const job*, char* out, std::size_t capacity) noexcept = nullptr;
};

struct job {
  const job_type* type;
  void execute() noexcept { type->run(this); }
};

}  // namespace cohort::detail
