// SPDX-License-Identifier: Apache-2.0
// The join credit: the ends of a group's children, counted on the thread that ran them
// and taken off the group's count in one read-modify-write later, instead of one each.
//
// Two holders (why it is safe: join_credit.cpp; child_end counts on it, task_group.cpp):
//  - a joiner that runs its group's children on top of its own deque
//    (lib_access::run_children_credited), for that one group, until it stops running
//    them;
//  - a pool thread's main loop (worker.cpp), for the group of the children it takes in a
//    row from deques and queues, until it takes a job of another group or finds none.
// Either way a credited end is pending only while its holder is busy with the same
// group, so the group's count reaches zero no later than the holder's next step.
#pragma once

#include <cstdint>

namespace cohort::detail {

class group_core;

struct join_credit {
  group_core* group = nullptr;  // non-null with `ended` > 0: the group is alive
  std::uint32_t ended = 0;
  join_credit* outer = nullptr;  // the credit this one runs inside, on the same thread
};

// Where child_end counts a child of current_join_credit->group that ends on this
// thread; null: each child counts itself down.
extern constinit thread_local join_credit* current_join_credit;

// Whether g's children may end on credit is lib_access::creditable: not when another
// thread acts on its count (a deadline's timer, a max_concurrency group's slots) or
// reports it (the detached root).

// Takes credit.ended off the group's count, waking a joiner asleep on it if that was the
// last, and empties the credit. The group may be gone after it.
void settle(join_credit& credit) noexcept;

}  // namespace cohort::detail
