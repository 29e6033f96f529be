// SPDX-License-Identifier: Apache-2.0
// The torture program's node bodies (phases 1-3 of program.hpp) and its actions, each
// checked where it ends. Included by runner.hpp.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <functional>
#include <variant>

namespace torture {

namespace detail {

inline void sleep_watching(std::chrono::nanoseconds d, const std::stop_token& st, bool observe) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
    if (st.stop_requested()) {
      if (observe) throw cohort::task_cancelled();
      return;
    }
    std::this_thread::sleep_for(
        std::min<std::chrono::nanoseconds>(d, std::chrono::microseconds(100)));
  }
}

inline void spin_for(std::chrono::nanoseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
  }
}

// Calls f(handles...) with the handles of `ids` (2 or 3 of them) as task<int>& lvalues.
template <class F>
void with_handles(context& cx, const std::vector<int>& ids, F&& f) {
  for (int t : ids) wait_published(cx.states[t]);
  auto h = [&](std::size_t i) -> cohort::task<int>& { return *cx.states[ids[i]].handle; };
  if (ids.size() == 2)
    f(std::tie(h(0), h(1)));
  else
    f(std::tie(h(0), h(1), h(2)));
}

// Calls f(callables...) with a callable per element (2 or 3).
template <class F>
auto with_elements(context& cx, const std::vector<int>& ids, F&& f) {
  auto e = [&](std::size_t i) { return [&cx, id = ids[i]] { return run_node(cx, id, {}); }; };
  if (ids.size() == 2) return f(e(0), e(1));
  return f(e(0), e(1), e(2));
}

template <class Tuple, std::size_t... I>
bool tuple_matches(context& cx, const std::vector<int>& ids, const Tuple& t,
                   std::index_sequence<I...>) {
  return (... && (std::get<I>(t) == cx.prog.nodes[ids[I]].value()));
}

// Every element that returned a value must have run exactly once and returned normally.
inline void check_all_returned(context& cx, const std::string& what, const std::vector<int>& ids) {
  for (int e : ids)
    if (cx.states[e].started.load() != 1 || cx.states[e].how != ending::returned)
      cx.fail(what + ": returned values although element " + tag(e) + " did not return one");
}

template <class Outcome>
void check_outcome(context& cx, const std::string& what, int e, const Outcome& o) {
  const node_state& s = cx.states[e];
  if (o.has_value()) {
    if (s.how != ending::returned || o.value() != cx.prog.nodes[e].value())
      cx.fail(what + ": outcome of " + tag(e) + " holds a value it did not return");
  } else if (o.failed()) {
    if (s.how != ending::failed || o.error() != s.escaped)
      cx.fail(what + ": outcome of " + tag(e) + " holds an error it did not throw");
  } else if (s.how == ending::failed) {
    cx.fail(what + ": outcome of " + tag(e) + " says cancelled although it failed (lost)");
  } else if (!cx.prog.may_cancel) {
    cx.fail(what + ": outcome of " + tag(e) + " cancelled in a program that cancels nothing");
  }
}

inline void spawn_into(context& cx, cohort::task_group& g, int c, bool with_token) {
  node_state& s = cx.states[c];
  cohort::task_options o{.name = tag(c)};
  if (with_token)
    s.handle.emplace(
        g.spawn([&cx, c](std::stop_token st) { return run_node(cx, c, std::move(st)); }, o));
  else
    s.handle.emplace(g.spawn([&cx, c] { return run_node(cx, c, {}); }, o));
  s.published.store(true, std::memory_order_release);
}

inline cohort::group_options options_of(const group_spec& g, std::string name) {
  return cohort::group_options{
      .on_failure = g.policy, .max_concurrency = g.max_concurrency, .name = std::move(name)};
}

}  // namespace detail

// Runs one action of node n; every exception is checked here and absorbed (a node
// escapes only through its joins, its own failure, or a stop it observes).
inline void run_action(context& cx, const node& n, const action& a, const std::stop_token& st) {
  using namespace detail;
  const std::string what = tag(n.id) + "." + name_of(a.kind);
  cohort::scheduler& own = cx.sched(a.sched >= 0 ? a.sched : n.sched);
  switch (a.kind) {
    case action_kind::get:
      checked_get(cx, n.id, a.targets[0]);
      break;
    case action_kind::blocking_wait: {
      // Blocks this thread until the target is done, telling cohort only that it blocks:
      // the pool counts the worker blocked and a spare takes its place (the legality of a
      // get: the target is numbered below, so it ends without this thread).
      node_state& s = cx.states[a.targets[0]];
      wait_published(s);
      cohort::blocking([&] {
        while (!s.handle->done()) std::this_thread::sleep_for(std::chrono::microseconds(50));
      });
      break;
    }
    case action_kind::wait:
    case action_kind::wait_for_loop: {
      node_state& s = cx.states[a.targets[0]];
      wait_published(s);
      if (a.kind == action_kind::wait)
        s.handle->wait();
      else
        while (!s.handle->wait_for(std::chrono::microseconds(200))) {
        }
      if (!s.handle->done()) cx.fail(what + ": " + tag(a.targets[0]) + " not done after the wait");
      break;
    }
    case action_kind::wait_all:
    case action_kind::wait_first:
      with_handles(cx, a.targets, [&](auto tasks) {
        const bool all = a.kind == action_kind::wait_all;
        const auto r = cohort::wait(
            tasks, all ? cohort::wait_policy::all_completed : cohort::wait_policy::first_completed);
        if (r.done.empty() || (all && !r.pending.empty()))
          cx.fail(what + ": cohort::wait returned too early");
        for (std::size_t i : r.done)
          if (!cx.states[a.targets[i]].handle->done()) cx.fail(what + ": a done task is not done");
        if (!all) {
          std::vector<int> seen(a.targets.size(), 0);
          for (std::size_t i : cohort::as_completed(tasks)) {
            if (!cx.states[a.targets[i]].handle->done())
              cx.fail(what + ": as_completed yielded a pending task");
            ++seen[i];
          }
          if (std::count(seen.begin(), seen.end(), 1) != static_cast<long>(seen.size()))
            cx.fail(what + ": as_completed did not yield each task exactly once");
        }
      });
      break;
    case action_kind::gather:
    case action_kind::gather_settled: {
      const bool settled = a.kind == action_kind::gather_settled;
      try {
        with_elements(cx, a.elements, [&](auto... fs) {
          if (settled) {
            auto r = cohort::gather_settled(own, fs...);
            std::size_t i = 0;
            std::apply([&](auto&... o) { (check_outcome(cx, what, a.elements[i++], o), ...); }, r);
          } else {
            auto r = cohort::gather(own, fs...);
            check_all_returned(cx, what, a.elements);
            if (!tuple_matches(cx, a.elements, r, std::make_index_sequence<sizeof...(fs)>()))
              cx.fail(what + ": wrong values");
          }
          return 0;
        });
      } catch (...) {
        if (settled && classify(std::current_exception()) != ending::cancelled)
          cx.fail(what + ": gather_settled threw " + what_kind(std::current_exception()));
        if (!settled) check_ending(cx, what, a.elements, std::current_exception(), false, false);
      }
      break;
    }
    case action_kind::gather_range:
      try {
        std::vector<int> ids = a.elements;
        auto v = cohort::gather(own, ids, [&cx](int e) { return run_node(cx, e, {}); });
        check_all_returned(cx, what, a.elements);
        for (std::size_t i = 0; i < ids.size(); ++i)
          if (v.size() != ids.size() || v[i] != cx.prog.nodes[ids[i]].value())
            cx.fail(what + ": wrong values");
      } catch (...) {
        check_ending(cx, what, a.elements, std::current_exception(), false, false);
      }
      break;
    case action_kind::with_timeout: {
      const int e = a.elements[0];
      const bool past = a.delay.count() <= 0;
      try {
        const int v = cohort::with_timeout(own, a.delay, [&cx, e] { return run_node(cx, e, {}); });
        if (cx.states[e].how != ending::returned || v != cx.prog.nodes[e].value())
          cx.fail(what + ": returned a value the element did not return");
        if (past) cx.fail(what + ": returned a value although its deadline had passed at once");
      } catch (...) {
        const auto x = std::current_exception();
        const node_state& s = cx.states[e];
        if (s.how == ending::failed) {
          if (x != s.escaped)
            cx.fail(what + ": threw " + what_kind(x) + ", not the element's own failure");
        } else {
          const bool timeout = std::string(what_kind(x)) == "timeout_error";
          if (!timeout && classify(x) != ending::cancelled)
            cx.fail(what + ": threw " + what_kind(x) + " although the element did not fail");
          if (past && !timeout)
            cx.fail(what + ": deadline passed at once, but threw " + what_kind(x));
        }
      }
      if (past && cx.states[e].started.load() != 0)
        cx.fail(what + ": the element started although the deadline had passed at once");
      break;
    }
    case action_kind::race:
      try {
        const int v =
            with_elements(cx, a.elements, [&](auto... fs) { return cohort::race(own, fs...); });
        bool from_winner = false;
        for (int e : a.elements)
          from_winner |= cx.states[e].how == ending::returned && v == cx.prog.nodes[e].value();
        if (!from_winner) cx.fail(what + ": returned a value no element returned");
      } catch (...) {
        // task_cancelled: an enclosing scope was cancelled (that wins over a success).
        const auto x = std::current_exception();
        if (classify(x) == ending::cancelled) {
          if (!cx.prog.may_cancel)
            cx.fail(what + ": threw task_cancelled in a program that cancels nothing");
        } else {
          for (int e : a.elements)
            if (cx.states[e].how == ending::returned)
              cx.fail(what + ": threw " + what_kind(x) + " although " + tag(e) + " succeeded");
          check_ending(cx, what, a.elements, x, false, false);
        }
      }
      break;
    case action_kind::scope: {
      const group_spec& g = n.scope_groups[static_cast<std::size_t>(a.group_index)];
      try {
        cohort::scope(
            cx.sched(g.sched),
            [&](cohort::task_group& tg) {
              for (int c : g.children) spawn_into(cx, tg, c, g.stop_token_children);
            },
            options_of(g, what));
        check_ending(cx, what, g.children, nullptr, false, false);
      } catch (...) {
        check_ending(cx, what, g.children, std::current_exception(), false, false);
      }
      for (int c : g.children) check_child(cx, c);
      break;
    }
    case action_kind::block: {
      // Blocks this thread outside cohort until a task of the service scheduler (which
      // runs nothing else, so it always runs) releases it: a semaphore, or a pipe.
      if (n.id % 2 == 0) {
        auto sem = std::make_shared<std::binary_semaphore>(0);
        cx.service->spawn_detached([sem, d = a.delay] {
          std::this_thread::sleep_for(d);
          sem->release();
        });
        sem->acquire();
      } else {
        int fds[2];
        if (::pipe(fds) != 0) {
          cx.fail(what + ": pipe() failed");
          break;
        }
        cx.service->spawn_detached([fd = fds[1], d = a.delay] {
          std::this_thread::sleep_for(d);
          const char byte = 1;
          while (::write(fd, &byte, 1) < 0 && errno == EINTR) {
          }
          ::close(fd);
        });
        char byte = 0;
        while (::read(fds[0], &byte, 1) < 0 && errno == EINTR) {
        }
        ::close(fds[0]);
      }
      break;
    }
    case action_kind::sleep:
      sleep_watching(a.delay, st, n.observe_stop);  // may throw task_cancelled: not absorbed
      break;
    case action_kind::spin:
      spin_for(a.delay);
      break;
    case action_kind::cancel_task: {
      node_state& s = cx.states[a.targets[0]];
      wait_published(s);
      s.handle->cancel();
      break;
    }
    case action_kind::cancel_group: {
      group_slot& slot = *cx.groups[a.group_owner][a.group_index];
      for (;;) {
        std::lock_guard lock(slot.m);
        if (slot.state == 1) slot.group->cancel();
        if (slot.state != 0) break;
      }
      break;
    }
  }
}

// A node's phase-1 groups: published for cancel_group while live; unpublished before
// each is destroyed (reverse order), and their children checked once it is.
class node_groups {
 public:
  node_groups(context& cx, const node& n) : cx_(cx), n_(n) {}
  ~node_groups() {
    for (std::size_t i = groups_.size(); i-- > 0;) {
      group_slot& slot = *cx_.groups[n_.id][i];
      {
        std::lock_guard lock(slot.m);
        slot.state = 2;
        slot.group = nullptr;
      }
      if (!joined_[i])
        for (int c : n_.groups[i].children) cx_.states[c].abandoned = true;
      groups_[i].reset();  // not joined: cancels, waits, hands failures to the handler
      if (joined_[i])
        for (int c : n_.groups[i].children) check_child(cx_, c);
    }
  }
  void create_all() {
    for (std::size_t i = 0; i < n_.groups.size(); ++i) {
      const group_spec& g = n_.groups[i];
      auto tg = std::make_unique<cohort::task_group>(
          cx_.sched(g.sched), detail::options_of(g, tag(n_.id) + ".group" + std::to_string(i)));
      if (g.has_deadline) tg->cancel_after(g.deadline);
      {
        group_slot& slot = *cx_.groups[n_.id][i];
        std::lock_guard lock(slot.m);
        slot.state = 1;
        slot.group = tg.get();
      }
      for (int c : g.children) detail::spawn_into(cx_, *tg, c, g.stop_token_children);
      groups_.push_back(std::move(tg));
      joined_.push_back(false);
    }
  }
  // Joins every group in order, checks each; rethrows the first exception of a join.
  void join_all() {
    std::exception_ptr first;
    for (std::size_t i = 0; i < groups_.size(); ++i) {
      const group_spec& g = n_.groups[i];
      std::exception_ptr thrown;
      try {
        groups_[i]->join();
      } catch (...) {
        thrown = std::current_exception();
      }
      joined_[i] = true;
      check_ending(cx_, tag(n_.id) + ".group" + std::to_string(i) + ".join", g.children, thrown,
                   g.has_deadline, g.has_deadline && g.deadline.count() <= 0);
      if (thrown && !first) first = thrown;
    }
    if (first) std::rethrow_exception(first);
  }

 private:
  context& cx_;
  const node& n_;
  std::vector<std::unique_ptr<cohort::task_group>> groups_;
  std::vector<bool> joined_;
};

inline int node_body(context& cx, const node& n, const std::stop_token& st) {
  node_groups groups(cx, n);
  groups.create_all();
  if (n.fails_early) {
    cx.states[n.id].at.store(node_state::joining, std::memory_order_relaxed);  // destructors
    throw node_failure(n.id);
  }
  node_state& self = cx.states[n.id];
  if (n.waits_outside_for >= 0) {
    // outside_waits (program.hpp): blocks this thread outside cohort, without
    // cohort::blocking(), until Y started or the group was cancelled (the stop token).
    self.at.store(node_state::waiting_outside, std::memory_order_relaxed);
    while (!cx.waiter_released.load(std::memory_order_acquire) && !st.stop_requested())
      std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  for (std::size_t i = 0; i < n.actions.size(); ++i) {
    self.at.store(static_cast<int>(i), std::memory_order_relaxed);
    run_action(cx, n, n.actions[i], st);
  }
  self.at.store(node_state::joining, std::memory_order_relaxed);  // joins, or the destructors
  if (!n.abandon_groups) groups.join_all();
  if (n.fails) throw node_failure(n.id);
  return n.value();
}

inline int run_node(context& cx, int id, std::stop_token st) {
  node_state& s = cx.states[id];
  if (s.started.fetch_add(1, std::memory_order_relaxed) != 0) cx.fail(tag(id) + ": started twice");
  if (cx.prog.nodes[id].releases_waiter) cx.waiter_released.store(true, std::memory_order_release);
  try {
    const int v = node_body(cx, cx.prog.nodes[id], st);
    s.how = ending::returned;
    s.finished.fetch_add(1, std::memory_order_release);  // acquire: check_child
    return v;
  } catch (...) {
    s.escaped = std::current_exception();
    s.how = classify(s.escaped);
    s.finished.fetch_add(1, std::memory_order_release);
    throw;
  }
}

// After the program: every callable ran at most once and ended once; abandoned groups'
// failures reached the handler or a get().
inline void final_checks(context& cx) {
  for (const node& n : cx.prog.nodes) {
    node_state& s = cx.states[n.id];
    if (s.started.load() > 1) cx.fail(tag(n.id) + ": ran more than once");
    if (s.finished.load() != s.started.load()) cx.fail(tag(n.id) + ": never ended");
    if (n.kind == node_kind::spawned && s.handle) {
      if (!s.handle->done()) cx.fail(tag(n.id) + ": not done at the end (lost)");
      if (s.abandoned && s.how == ending::failed && !s.failure_observed.load() &&
          !cx.was_handed_to_handler(s.escaped))
        cx.fail(tag(n.id) +
                ": failed in a group nobody joined, and the failure reached neither "
                "a get() nor the unhandled-exception handler (lost)");
    }
  }
}

}  // namespace torture
