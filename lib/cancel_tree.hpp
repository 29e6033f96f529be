// SPDX-License-Identifier: Apache-2.0
// The cancellation tree's lib-side half (the nodes themselves are detail/cancel_node.hpp):
// the fan-out of a cancel to the stop sources of running children that take a
// std::stop_token (cancel_node::request, the registry below), and the walks up the tree
// (walk_guard, descends_from, may_run_inside) with the cut that waits them out.
#pragma once

#include <cohort/detail/cancel_node.hpp>

#include <stop_token>

namespace cohort::detail {

struct stop_registration {
  const cancel_node* node;
  std::stop_source source;
  stop_registration* prev = nullptr;
  stop_registration* next = nullptr;
};

void register_stop_source(stop_registration& r);
void unregister_stop_source(stop_registration& r) noexcept;

}  // namespace cohort::detail

namespace cohort::detail {

struct job;

// Held across any walk up the tree that may pass a group's link: a cut (detach_groups_of)
// waits until no walk that might have read the old link is in progress.
class walk_guard {
 public:
  walk_guard() noexcept;
  ~walk_guard();
  walk_guard(const walk_guard&) = delete;
  walk_guard& operator=(const walk_guard&) = delete;
};
// Called after cutting links: returns once every walk that may have read one is over.
void wait_out_walkers() noexcept;

// True when `descendant` is `ancestor` or lies below it in the cancellation tree.
bool descends_from(const cancel_node* descendant, const cancel_node* ancestor) noexcept;

// Whether a worker whose running task is `waiting` may run job `j` inside that task's
// wait: only if j runs under a node that descends from it (lib/README.md, "What a wait
// may run"). The caller keeps j's node alive meanwhile: a child must be claimed first
// (else a waiter could run it inline, and its group end, while we walk).
bool may_run_inside(const job* j, const cancel_node* waiting) noexcept;

}  // namespace cohort::detail
