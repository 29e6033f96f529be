// SPDX-License-Identifier: Apache-2.0
#include "wait_on.hpp"

#include <cohort/detail/completion.hpp>
#include <cohort/errors.hpp>
#include <cohort/wait.hpp>

#include <stdexcept>

#include <memory>
#include <optional>
#include <span>

#include "cancel_tree.hpp"
#include "futex.hpp"
#include "observe/blocked.hpp"
#include "parking_lot.hpp"

namespace cohort::detail {
namespace {

// A thread outside the pool sleeps on a word of its own, woken by any completer.
struct thread_park_record : park_record {
  std::atomic<std::uint32_t>* woken = nullptr;
  static void wake_thread(park_record* r) noexcept {
    auto* self = static_cast<thread_park_record*>(r);
    self->woken->store(1, std::memory_order_release);
    futex_wake_one(*self->woken);
  }
};

}  // namespace

bool block_on(wait_target& target, worker::clock::time_point deadline) {
  park_records<thread_park_record> set(target.key_count());
  thread_park_record* const records = set.data();
  // For dump(): who sleeps on what. Before anything is linked in the lot: it allocates,
  // and a throw must not leave our records there. Workers say so in their activity.
  std::optional<blocked_scope> listed;
  if (current_worker == nullptr) listed.emplace(target.key(0), target.key_count());
  while (!target.done()) {
    std::atomic<std::uint32_t> woken{0};
    for (thread_park_record& r : set) {
      r.woken = &woken;
      r.wake = &thread_park_record::wake_thread;
    }
    if (!parking_lot::enter_all(target, records)) return true;
    bool timed_out = false;
    while (woken.load(std::memory_order_acquire) == 0) {
      std::chrono::nanoseconds timeout(-1);
      if (deadline != worker::clock::time_point::max()) {
        timeout = deadline - worker::clock::now();
        if (timeout.count() <= 0) {
          timed_out = true;
          break;
        }
      }
      futex_wait(woken, 0, timeout);
    }
    // Unlinks what no waker did; a waker unlinks under the bucket lock before it wakes,
    // so after this no waker touches our records or `woken`.
    parking_lot::leave_all(target, records);
    if (timed_out) return target.done();
  }
  return true;
}

namespace {

class completion_target final : public wait_target {
 public:
  explicit completion_target(completion_word& w) noexcept : word_(w) {}
  bool done() const noexcept override { return is_complete(word_); }
  bool announce(std::size_t) noexcept override {
    // An RMW under the bucket lock: the completer's exchange either sees the bit (and
    // takes the bucket lock to wake us) or precedes it (and we see done_bit here).
    return (word_.fetch_or(waiters_bit, std::memory_order_acq_rel) & done_bit) == 0;
  }
  const void* key(std::size_t) const noexcept override { return &word_; }

 private:
  completion_word& word_;
};

class any_completion_target final : public wait_target {
 public:
  explicit any_completion_target(std::span<completion_word* const> words) noexcept
      : words_(words) {}
  bool done() const noexcept override {
    for (auto* w : words_)
      if (is_complete(*w)) return true;
    return false;
  }
  std::size_t key_count() const noexcept override { return words_.size(); }
  const void* key(std::size_t i) const noexcept override { return words_[i]; }
  bool announce(std::size_t i) noexcept override {
    return (words_[i]->fetch_or(waiters_bit, std::memory_order_acq_rel) & done_bit) == 0;
  }

 private:
  std::span<completion_word* const> words_;
};

}  // namespace

bool wait_on(wait_target& target, worker::clock::time_point deadline) {
  if (target.done()) return true;
  if (worker* w = current_worker) return w->wait(target, deadline);
  return block_on(target, deadline);
}

void wait_complete(completion_word& word) {
  if (is_complete(word)) return;
  completion_target t(word);
  wait_on(t);
}

bool wait_complete_for(completion_word& word, std::chrono::nanoseconds timeout) {
  if (is_complete(word)) return true;
  completion_target t(word);
  return wait_on(t, worker::clock::now() + timeout);
}

bool wait_any_complete(std::span<completion_word* const> words,
                       std::optional<std::chrono::nanoseconds> timeout) {
  if (words.empty()) return true;
  any_completion_target t(words);
  if (t.done()) return true;
  return wait_on(t, timeout ? worker::clock::now() + *timeout : worker::clock::time_point::max());
}

// ---- the combinators' waits (wait.hpp) -------------------------------------------------

namespace {

void check_not_waiting_on_self(std::span<child_base* const> children) {
  walk_guard guard;
  for (const cancel_node* n = current_node; n != nullptr; n = n->up())
    for (child_base* c : children)
      if (n == c)
        throw std::logic_error("cohort::wait: a task waits on itself; this would never return");
}

// On a worker, runs one awaited task nobody started (see child_run_inline): without it a
// worker could wait on a task that lies under the waiting one on its own deque. A thread
// outside the pool has no such reason, and running one task would hold up a wait for
// the first of several.
bool run_one_inline(std::span<child_base* const> children) {
  if (current_worker == nullptr) return false;
  for (child_base* c : children)
    if (!is_complete(c->status) && child_run_inline(c)) return true;
  return false;
}

bool failed(const child_base* c) noexcept {
  return is_complete(c->status) && c->status_value() == task_status::failed;
}

}  // namespace

wait_result wait_children(std::span<child_base* const> children, wait_policy policy,
                          std::optional<std::chrono::nanoseconds> timeout) {
  check_not_waiting_on_self(children);
  const auto deadline = timeout ? std::optional(worker::clock::now() + *timeout) : std::nullopt;
  auto satisfied = [&] {
    std::size_t done = 0;
    bool any_failed = false;
    for (child_base* c : children) {
      if (is_complete(c->status)) ++done;
      any_failed = any_failed || failed(c);
    }
    switch (policy) {
      case wait_policy::first_completed:
        return done > 0 || children.empty();
      case wait_policy::first_exception:
        return any_failed || done == children.size();
      case wait_policy::all_completed:
        break;
    }
    return done == children.size();
  };
  std::vector<completion_word*> pending;
  for (;;) {
    // Snapshot the unfinished children first, then decide. A child that completes after
    // the snapshot is one we sleep on; one that completed before it is one the check
    // sees. (Deciding first and snapshotting second loses a child that completes in
    // between: it is in neither, and we would sleep on the others.)
    pending.clear();
    for (child_base* c : children)
      if (!is_complete(c->status)) pending.push_back(&c->status);
    if (satisfied()) break;
    // A timed wait runs nothing: the task it ran could outlast the timeout.
    if (!deadline && run_one_inline(children)) continue;
    std::optional<std::chrono::nanoseconds> left;
    if (deadline) {
      left = *deadline - worker::clock::now();
      if (left->count() <= 0) break;
    }
    if (!wait_any_complete(pending, left)) break;  // timed out
  }
  wait_result r;
  for (std::size_t i = 0; i < children.size(); ++i)
    (is_complete(children[i]->status) ? r.done : r.pending).push_back(i);
  return r;
}

std::size_t next_completed(std::span<child_base* const> children,
                           std::optional<std::chrono::steady_clock::time_point> deadline) {
  check_not_waiting_on_self(children);
  std::vector<completion_word*> words;
  words.reserve(children.size());
  for (child_base* c : children) words.push_back(&c->status);
  for (;;) {
    for (std::size_t i = 0; i < children.size(); ++i)
      if (is_complete(children[i]->status)) return i;
    if (!deadline && run_one_inline(children)) continue;  // timed: runs nothing
    std::optional<std::chrono::nanoseconds> left;
    if (deadline) {
      left = *deadline - worker::clock::now();
      if (left->count() <= 0) throw timeout_error();
    }
    wait_any_complete(words, left);
  }
}

}  // namespace cohort::detail
