// SPDX-License-Identifier: Apache-2.0
// lib/'s one door into the private parts of the public types it implements. The public
// headers name only this struct (`friend struct lib_access`), never lib-only machinery;
// whatever lib/ needs beyond a type's public members goes through here, so the list of
// what crosses the boundary is this file.
#pragma once

#include <cohort/detail/group_core.hpp>
#include <cohort/scheduler.hpp>

#include <cstdint>

#include "intrusive_list.hpp"

namespace cohort::detail {

struct lib_access {
  // ---- scheduler ------------------------------------------------------------------------
  // The pool behind a scheduler (runtime.cpp's pool_of, the default scheduler's exit).
  static pool& pool_of(scheduler& s) noexcept { return *s.pool_; }

  // ---- group_core -----------------------------------------------------------------------
  // The layout of a group's counts word, for the joiner's wait target (task_group.cpp).
  static constexpr std::uint64_t group_count_mask = group_core::count_mask;
  static constexpr std::uint64_t group_sleeper_bit = group_core::sleeper_bit;
  // The timer's call when a group's deadline passes (task_group.cpp, on_group_deadline).
  static void deadline_passed(group_core& g) noexcept { g.deadline_passed(); }
  // A spawn into a group with a deadline or a max_concurrency limit, or one that is
  // cancelled: group_core::submit's out-of-line part (task_group.cpp). Returns true when
  // it settled the child (ended it cancelled or failed, or queued it for a slot); false
  // when the caller submits it as usual.
  [[gnu::noinline]] static bool submit_unusual(group_core& g, child_base* c);
  // The common join's first step for a group of two or more children: the joiner runs
  // those left on top of its own deque (or its outside slot's), and their ends count on
  // its thread instead of on the group's word (task_group.cpp, join_credit). Returns true
  // when adding that count took the group's count to zero.
  [[gnu::noinline]] static bool run_children_credited(group_core& g) noexcept;
  // Whether g's children may end on a join credit (join_credit.hpp); read on a claimed
  // child's group.
  static bool creditable(const group_core& g) noexcept;
  // Takes n ended children off g's count, waking a joiner asleep on it if that was the
  // last; returns the word before. A child's own end (n = 1) and a credit's settle.
  static std::uint64_t count_down(group_core& g, std::uint32_t n) noexcept;
  // The failures join() reports (task_group.cpp, throw_kept_failures).
  static std::vector<child_base*> take_failures(group_core& g, std::size_t& unkept) noexcept {
    return g.take_failures(unkept);
  }
  // The live-group lists (worker.hpp's live_group_list) link groups through two private
  // fields of group_core.
  using live_groups = intrusive_list<group_core, &group_core::prev_live, &group_core::next_live>;
};

}  // namespace cohort::detail
