// SPDX-License-Identifier: Apache-2.0
// Runs one torture program on fresh schedulers and checks what the contract promises:
//  - every node's callable ran at most once, and a spawned node that never ran ended
//    cancelled (skipped); its handle's status agrees with what the callable did (returned:
//    succeeded or cancelled; threw its own exception: failed with exactly that exception;
//    threw task_cancelled: cancelled);
//  - every join (and scope, gather, race, with_timeout) reports exactly the failures of
//    its children, in spawn (argument) order, and otherwise ends as the contract says;
//  - a failure in a group nobody joined reaches the unhandled-exception handler unless a
//    get() observed it;
//  - in a program with no cancel source at all, nothing ends cancelled.
// Hangs are the watchdog's (watchdog.hpp); this file only records violations.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <stop_token>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <cohort/cohort.hpp>

#include "program.hpp"

namespace torture {

enum class ending { none, returned, failed, cancelled };

// A node's own failure: carries the node's id.
struct node_failure : std::runtime_error {
  explicit node_failure(int id)
      : std::runtime_error(std::string("node ").append(std::to_string(id)).append(" failed")),
        node(id) {}
  int node;
};

struct node_state {
  std::atomic<int> started{0}, finished{0};
  // Written by the node's own thread before its callable returns; read after a join, a
  // get() or a gather that happens-after that return.
  ending how = ending::none;
  std::exception_ptr escaped;
  std::optional<cohort::task<int>> handle;  // spawned nodes
  std::atomic<bool> published{false};  // release: the handle is built (acquire in wait_published)
  std::atomic<bool> failure_observed{false};  // a get() rethrew its failure
  bool abandoned = false;  // its group was destroyed without a join (set by the owner)
  // Where the node is, for a hang report: -1 phase 1, k its action k, joining (phase 3).
  // relaxed: read by the watchdog as a snapshot of a stuck program.
  static constexpr int joining = 1000;
  static constexpr int waiting_outside = -2;  // outside_waits: X waiting for Y
  std::atomic<int> at{-1};
};

// A group of a node's phase 1, reachable by other nodes' cancel_group actions.
struct group_slot {
  std::mutex m;
  int state = 0;  // 0: not created yet, 1: live, 2: destroyed
  cohort::task_group* group = nullptr;
};

class context {
 public:
  explicit context(const program& p) : prog(p), states(p.nodes.size()) {
    for (const node& n : p.nodes) {
      groups.emplace_back();
      for (std::size_t g = 0; g < n.groups.size(); ++g)
        groups.back().push_back(std::make_unique<group_slot>());
    }
  }

  void fail(std::string msg) {
    std::lock_guard lock(m_);
    if (violations.size() < 20) violations.push_back(std::move(msg));
  }
  void on_unhandled(std::exception_ptr e) {
    std::lock_guard lock(m_);
    unhandled.push_back(std::move(e));
  }
  bool was_handed_to_handler(const std::exception_ptr& e) {
    std::lock_guard lock(m_);
    for (auto& u : unhandled)
      if (u == e) return true;
    return false;
  }
  cohort::scheduler& sched(int i) { return *schedulers[static_cast<std::size_t>(i)]; }

  const program& prog;
  std::vector<node_state> states;
  std::vector<std::vector<std::unique_ptr<group_slot>>> groups;
  std::vector<std::unique_ptr<cohort::scheduler>> schedulers;
  cohort::scheduler* service = nullptr;  // releases blocked nodes; runs nothing else
  // outside_waits: Y has started (release; acquire in X's wait). relaxed would do for the
  // flag alone; release/acquire keeps it a plain handoff.
  std::atomic<bool> waiter_released{false};
  std::vector<std::string> violations;
  std::vector<std::exception_ptr> unhandled;

 private:
  std::mutex m_;
};

int run_node(context& cx, int id, std::stop_token st);

inline std::string tag(int id) {
  std::string s = "n";  // append: GCC 12 warns (wrongly, -Wrestrict) on "lit" + std::string
  return s.append(std::to_string(id));
}

inline ending classify(const std::exception_ptr& e) {
  if (!e) return ending::returned;
  try {
    std::rethrow_exception(e);
  } catch (const cohort::task_cancelled&) {
    return ending::cancelled;
  } catch (...) {
    return ending::failed;
  }
}

inline const char* what_kind(const std::exception_ptr& e) {
  if (!e) return "nothing";
  try {
    std::rethrow_exception(e);
  } catch (const cohort::task_group_error&) {
    return "task_group_error";
  } catch (const cohort::task_cancelled&) {
    return "task_cancelled";
  } catch (const cohort::timeout_error&) {
    return "timeout_error";
  } catch (const node_failure&) {
    return "node_failure";
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "a non-exception";
  }
}

// The failures among `ids` (which have all ended), in order.
inline std::vector<std::exception_ptr> failures_of(context& cx, const std::vector<int>& ids) {
  std::vector<std::exception_ptr> out;
  for (int c : ids)
    if (cx.states[c].how == ending::failed) out.push_back(cx.states[c].escaped);
  return out;
}

// Checks how a join-like call over `children` ended: `thrown` is what it threw (null: it
// returned). `deadline`: the group had one (so timeout_error is possible); `past`: that
// deadline had passed at once (so timeout_error is required, unless a child failed).
inline void check_ending(context& cx, const std::string& what, const std::vector<int>& children,
                         const std::exception_ptr& thrown, bool deadline, bool past) {
  const auto expected = failures_of(cx, children);
  if (!expected.empty()) {
    try {
      if (thrown) std::rethrow_exception(thrown);
      cx.fail(what + ": returned normally although " + std::to_string(expected.size()) +
              " children failed (a failure lost)");
    } catch (const cohort::task_group_error& e) {
      const auto got = e.exceptions();
      bool same = got.size() == expected.size();
      for (std::size_t i = 0; same && i < got.size(); ++i) same = got[i] == expected[i];
      if (!same)
        cx.fail(what + ": task_group_error with " + std::to_string(got.size()) +
                " exceptions, expected exactly the " + std::to_string(expected.size()) +
                " failures of its children in order");
    } catch (...) {
      cx.fail(what + ": threw " + what_kind(thrown) + " although children failed");
    }
    return;
  }
  switch (classify(thrown)) {
    case ending::returned:
      if (past) cx.fail(what + ": returned normally although its deadline had passed at once");
      break;
    case ending::cancelled:
      if (past) cx.fail(what + ": threw task_cancelled although its own deadline passed at once");
      if (!cx.prog.may_cancel)
        cx.fail(what + ": threw task_cancelled in a program that cancels nothing");
      break;
    default:
      try {
        std::rethrow_exception(thrown);
      } catch (const cohort::timeout_error&) {
        if (!deadline) cx.fail(what + ": threw timeout_error without a deadline");
      } catch (...) {
        cx.fail(what + ": threw " + what_kind(thrown) + " although no child failed");
      }
  }
}

// A spawned node whose group ended (joined or destroyed): it ran at most once, and its
// handle agrees with what it did. Reads exception() (which marks the failure observed):
// call only once the group is gone or was joined.
inline void check_child(context& cx, int c) {
  node_state& s = cx.states[c];
  const int started = s.started.load(std::memory_order_relaxed);
  const int finished = s.finished.load(std::memory_order_acquire);
  if (started > 1) cx.fail(tag(c) + ": ran " + std::to_string(started) + " times");
  if (finished != started) cx.fail(tag(c) + ": its group ended while it still ran");
  if (!s.handle) {
    cx.fail(tag(c) + ": no handle");
    return;
  }
  cohort::task<int>& h = *s.handle;
  if (!h.done()) cx.fail(tag(c) + ": not done after its group ended (lost)");
  const auto st = h.status();
  if (started == 0) {
    if (st != cohort::task_status::cancelled) cx.fail(tag(c) + ": never ran, yet not cancelled");
    return;
  }
  switch (s.how) {
    case ending::returned:
      if (st != cohort::task_status::succeeded && st != cohort::task_status::cancelled)
        cx.fail(tag(c) + ": returned, but its status is neither succeeded nor cancelled");
      if (st == cohort::task_status::cancelled && !cx.prog.may_cancel)
        cx.fail(tag(c) + ": cancelled in a program that cancels nothing");
      if (st == cohort::task_status::succeeded && h.get() != cx.prog.nodes[c].value())
        cx.fail(tag(c) + ": wrong value");
      break;
    case ending::failed:
      if (st != cohort::task_status::failed)
        cx.fail(tag(c) + ": threw, but its status is not failed");
      else if (h.exception() != s.escaped)
        cx.fail(tag(c) + ": exception() is not what it threw");
      break;
    case ending::cancelled:
      if (st != cohort::task_status::cancelled)
        cx.fail(tag(c) + ": threw task_cancelled, status not cancelled");
      break;
    case ending::none:
      cx.fail(tag(c) + ": started but never ended");
  }
}

inline void wait_published(node_state& s) {
  while (!s.published.load(std::memory_order_acquire)) std::this_thread::yield();
}

// A get() on node t's handle from node `by`.
inline void checked_get(context& cx, int by, int t) {
  node_state& s = cx.states[t];
  wait_published(s);
  try {
    const int v = s.handle->get();
    if (s.how != ending::returned || v != cx.prog.nodes[t].value())
      cx.fail(tag(by) + ": get() on " + tag(t) + " returned a value it did not return");
  } catch (const cohort::task_cancelled&) {
    if (s.how == ending::failed)
      cx.fail(tag(by) + ": get() on failed " + tag(t) + " threw task_cancelled");
  } catch (...) {
    if (s.how != ending::failed || std::current_exception() != s.escaped)
      cx.fail(tag(by) + ": get() on " + tag(t) + " threw something it did not throw");
    else
      s.failure_observed.store(true, std::memory_order_relaxed);
  }
}

}  // namespace torture

#include "runner_actions.hpp"
