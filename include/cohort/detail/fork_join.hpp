// SPDX-License-Identifier: Apache-2.0
// The fork-join fast path behind gather: children that live on the caller's frame.
//
// A gather pushes its children 2..n on the calling worker's deque (child n first, so
// thieves take the last ones first), runs child 1 inline, then pops children back one by
// one and runs them inline; a child a thief took is waited for through its completion
// word. Nothing is allocated: the frame, the children and their results live on the
// caller's stack (rayon's StackJob). Popping back stops at the calling task's floor and
// at any job the task may not run inside a wait (worker::pop_until, lib/README.md): a
// child that is not reachable that way was stolen, or lies under such a job, and is
// waited for like a stolen one.
//
// Cancellation: the frame is a scope_node, child of the task that called gather. The
// first failure requests the frame (skipping children not started and firing stop
// tokens); a cancel of any enclosing scope reaches the frame through the chain.
#pragma once

#include <cohort/export.hpp>

#include <cstddef>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <cohort/detail/cancel_node.hpp>
#include <cohort/detail/completion.hpp>
#include <cohort/detail/failure.hpp>
#include <cohort/detail/job.hpp>
#include <cohort/detail/runtime.hpp>
#include <cohort/detail/stop.hpp>
#include <cohort/errors.hpp>

namespace cohort::detail {

// What gather, race and friends accept: callables taking nothing or a std::stop_token.
template <class... Fs>
inline constexpr bool all_nullary_tasks = (... && (std::is_invocable_v<Fs&> ||
                                                   std::is_invocable_v<Fs&, std::stop_token>));

struct gather_frame : scope_node {
  explicit gather_frame(bool settled_mode) noexcept
      : scope_node(current_node), settled(settled_mode) {}
  ~gather_frame() { end_of_node(this); }
  gather_frame(const gather_frame&) = delete;
  gather_frame& operator=(const gather_frame&) = delete;
  bool settled;  // gather_settled: a failure does not cancel the siblings
  // Called with the exception of a child that failed (not one that observed a cancel).
  void on_failure() noexcept {
    if (!settled) request();
  }
};

// void results are stored as std::monostate (a gather tuple's entry for a void callable).
template <class F>
using slot_value_t =
    std::conditional_t<std::is_void_v<call_result_t<F>>, std::monostate, call_result_t<F>>;

template <class F>
struct gather_slot : job {
  using value_type = slot_value_t<F>;

  gather_slot(F& f, gather_frame& fr) noexcept : job{&type}, fn(f), frame(fr) {}

  // Runs the callable here and now; never throws.
  void execute() noexcept {
    if (frame.cancelled()) return;  // skipped: neither value nor error
    current_node_guard guard(&frame);
    const run_outcome outcome = run_capturing(
        [this] {
          if constexpr (std::is_void_v<call_result_t<F>>) {
            invoke_task(fn, &frame);
            value.emplace();
          } else {
            value.emplace(invoke_task(fn, &frame));
          }
        },
        error);
    if (outcome == run_outcome::failed) frame.on_failure();
  }
  static void run_stolen(job* j) noexcept {
    auto* self = static_cast<gather_slot*>(j);
    self->execute();
    complete(self->done, 0);  // the last touch: the owner's frame may vanish after this
  }
  bool failed() const noexcept { return error && !is_cancellation(error); }
  static const cancel_node* node_of(const job* j) noexcept {
    return &static_cast<const gather_slot*>(j)->frame;
  }
  static constexpr job_type type{&run_stolen, job_kind::gather_child, &node_of};

  F& fn;
  gather_frame& frame;
  completion_word done{0};
  std::optional<value_type> value;
  std::exception_ptr error;
};

// The children of one gather, built in place (they hold atomics and cannot move).
template <std::size_t I, class F>
struct indexed_slot : gather_slot<F> {
  using gather_slot<F>::gather_slot;
};
template <class Seq, class... Fs>
struct slot_pack;
template <std::size_t... I, class... Fs>
struct slot_pack<std::index_sequence<I...>, Fs...> : indexed_slot<I, Fs>... {
  explicit slot_pack(gather_frame& owner, Fs&... fs) noexcept : indexed_slot<I, Fs>(fs, owner)... {}
  template <class Visit>
  decltype(auto) apply(Visit&& visit) {
    return visit(static_cast<gather_slot<Fs>&>(static_cast<indexed_slot<I, Fs>&>(*this))...);
  }
};
template <class... Fs>
using slots_for = slot_pack<std::index_sequence_for<Fs...>, Fs...>;

// Runs slot 0 inline and slots 1..n-1 forked, then joins them all. On a worker only.
template <class... Slots>
void fork_join(Slots&... slots) {
  job* jobs[] = {static_cast<job*>(&slots)...};
  constexpr std::size_t n = sizeof...(Slots);
  // Slots [forked_from, n) are on the deque. A push that fails (out of memory growing the
  // deque) leaves the rest to run here in order: nothing on the deque may outlive this
  // frame, so the exception must not leave it.
  std::size_t forked_from = n;
  for (std::size_t k = n; k-- > 1;) {
    try {
      push_local(jobs[k]);
    } catch (...) {
      break;
    }
    forked_from = k;
  }
  std::size_t i = 0;
  auto step = [&](auto& slot) {
    if (i++ < forked_from) {
      slot.execute();
      return;
    }
    if (pop_local_until(&slot)) {
      slot.execute();
    } else {
      wait_complete(slot.done);
    }
  };
  (step(slots), ...);
}

template <class Body, class R>
struct pool_entry : job {
  explicit pool_entry(Body& b) noexcept : job{&type}, body(b), node(current_node) {}
  static void run(job* j) noexcept {
    auto* self = static_cast<pool_entry*>(j);
    {
      // A node of its own under the caller's: cancellation still flows from the caller,
      // and a wait inside the body runs only what the body started.
      current_node_guard guard(&self->node);
      // Whatever it threw, cancellation included, is rethrown to the caller as it was.
      run_capturing(
          [self] {
            if constexpr (std::is_void_v<R>) {
              self->body();
            } else {
              self->result.emplace(self->body());
            }
          },
          self->error);
    }
    end_of_node(&self->node);
    complete(self->done, 0);
  }
  static const cancel_node* node_of(const job* j) noexcept {
    return &static_cast<const pool_entry*>(j)->node;
  }
  static constexpr job_type type{&run, job_kind::pool_entry, &node_of};
  Body& body;
  cancel_node node;
  completion_word done{0};
  std::optional<std::conditional_t<std::is_void_v<R>, std::monostate, R>> result;
  std::exception_ptr error;
};

// Runs `body` on a worker of `p` and waits for it: how a thread outside the pool (or in
// another pool) enters the fork-join world.
template <class Body, class R = std::invoke_result_t<Body&>>
R run_in_pool(pool& p, Body&& body) {
  pool_entry<std::remove_reference_t<Body>, R> e(body);
  submit(p, &e);
  wait_complete(e.done);
  if (e.error) std::rethrow_exception(e.error);
  if constexpr (!std::is_void_v<R>) return std::move(*e.result);
}

}  // namespace cohort::detail
