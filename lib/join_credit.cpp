// SPDX-License-Identifier: Apache-2.0
// The join credit (join_credit.hpp): which groups take it, and its settle. Its holders
// are the joiner (lib_access::run_children_credited, task_group.cpp) and a pool thread's
// main loop (worker::execute_on_credit); child_end (task_group.cpp) counts on it.
#include "join_credit.hpp"

#include <cohort/detail/group_core.hpp>

#include <atomic>

#include "lib_access.hpp"

namespace cohort::detail {

// Each child takes itself off its group's count with a locked RMW on the group's word,
// and the word moves between the cores of the spawner and the runner. A thread that runs
// several children of one group in a row instead counts their ends in a plain number
// (child_end) and takes that many off the word in one RMW (settle): the joiner that runs
// its own children (run_children_credited), and a pool thread that takes them one after
// the other from deques and queues (worker::execute_on_credit).
//
// Why it is safe: a credited end is pending only while its holder keeps running children
// of the same group (it settles before anything else: a job of another group, an empty
// search, a park), so the count reaches zero at the holder's next step at the latest, and
// never early (a credit only delays a decrement). Nobody but a joiner acts on the count
// reaching zero, and a joiner's wait wakes on the settle as on a child's own decrement.
// The groups where another thread acts on the count are excluded (creditable): a
// deadline's timer cancels a group whose count is not zero, a max_concurrency group's
// slots come back through child_ended, and the detached root's count is reported.
constinit thread_local join_credit* current_join_credit = nullptr;

bool lib_access::creditable(const group_core& g) noexcept {
  // relaxed: a deadline set after this look (cancel_after, by the owner) can only find
  // the children counted here ended a moment later than they did.
  // The pool's detached root is excluded too: its count is what stats() and the exit()
  // report call pending, and a worker's credit could hold it up for as long as a later
  // detached task runs.
  return g.options_.max_concurrency == 0 && !g.detached_root() &&
         g.deadline_at_ns_.load(std::memory_order_relaxed) == 0 &&
         g.deadline_timer_.load(std::memory_order_relaxed) == 0;
}

void settle(join_credit& credit) noexcept {
  if (credit.ended != 0) lib_access::count_down(*credit.group, credit.ended);
  credit.group = nullptr;
  credit.ended = 0;
}

}  // namespace cohort::detail
