// SPDX-License-Identifier: Apache-2.0
// gather(f...): results in argument order, failure, cancellation from outside, ambient
// vs explicit scheduler, recursive fork-join. gather(range, fn) is in
// gather_range_test.cpp, gather_settled in gather_settled_test.cpp.
//
// Determinism: nothing here asserts how fast anything runs. Where a test needs several
// callables running at once it uses a scheduler with enough workers and a bounded
// rendezvous (poll_until), so a broken scheduler fails the test instead of hanging it.
#include <cohort/cohort.hpp>

#include <gtest/gtest.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <iterator>
#include <list>
#include <memory>
#include <numeric>
#include <ranges>
#include <sstream>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "gather_support.hpp"
#include "test_support.hpp"

namespace {

using cohort_test::boom;
using cohort_test::counting_input;
using cohort_test::describe;
using cohort_test::is_worker_of;
using cohort_test::label;
using cohort_test::no_default;
using cohort_test::poll_until;
using cohort_test::thread_name;
using cohort_test::tracker;

using namespace std::chrono_literals;

long fib(int n) {
  if (n < 2) return n;
  auto [a, b] = cohort::gather([n] { return fib(n - 1); }, [n] { return fib(n - 2); });
  return a + b;
}

// ===== gather(f...): results ============================================================

TEST(gather, results_come_in_argument_order_whatever_the_completion_order) {
  cohort::scheduler s({.workers = 3, .name = "gt"});
  auto r = cohort::gather(
      s,
      [] {
        std::this_thread::sleep_for(40ms);  // finishes last
        return 1;
      },
      [] {
        std::this_thread::sleep_for(10ms);
        return std::string("two");
      },
      [] { return 3.5; });
  static_assert(std::is_same_v<decltype(r), std::tuple<int, std::string, double>>);
  EXPECT_EQ(std::get<0>(r), 1);
  EXPECT_EQ(std::get<1>(r), "two");
  EXPECT_EQ(std::get<2>(r), 3.5);
}

TEST(gather, every_callable_runs_exactly_once) {
  cohort::scheduler s({.workers = 2, .name = "gt"});
  std::atomic<int> calls[5] = {};
  auto [a, b, c, d, e] = cohort::gather(
      s, [&] { return ++calls[0]; }, [&] { return ++calls[1]; }, [&] { return ++calls[2]; },
      [&] { return ++calls[3]; }, [&] { return ++calls[4]; });
  EXPECT_EQ(a + b + c + d + e, 5);
  for (auto& c2 : calls) EXPECT_EQ(c2.load(), 1);
}

TEST(gather, void_callable_is_monostate_in_its_place) {
  cohort::scheduler s({.workers = 2, .name = "gt"});
  std::atomic<bool> ran{false};
  auto r = cohort::gather(
      s, [&] { ran = true; }, [] { return 7; }, [] {});
  static_assert(std::is_same_v<decltype(r), std::tuple<std::monostate, int, std::monostate>>);
  EXPECT_TRUE(ran.load());
  EXPECT_EQ(std::get<1>(r), 7);
}

TEST(gather, stop_token_callables_are_called_with_an_unrequested_token) {
  cohort::scheduler s({.workers = 2, .name = "gt"});
  auto [a, b] = cohort::gather(
      s, [](std::stop_token st) { return st.stop_requested(); }, [] { return false; });
  EXPECT_FALSE(a);
  EXPECT_FALSE(b);
}

TEST(gather, move_only_and_non_default_constructible_results) {
  cohort::scheduler s({.workers = 2, .name = "gt"});
  auto [p, q] = cohort::gather(
      s, [] { return std::make_unique<int>(5); }, [] { return no_default(9); });
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 5);
  EXPECT_EQ(q.v, 9);
  // Move-only callables, passed as temporaries and as lvalues.
  auto own = [u = std::make_unique<int>(3)] { return *u; };
  auto [x, y] = cohort::gather(s, own, [u = std::make_unique<int>(4)] { return *u; });
  EXPECT_EQ(x + y, 7);
}

TEST(gather, everything_the_children_wrote_is_visible_after_return) {
  cohort::scheduler s({.workers = 2, .name = "gt"});
  std::vector<int> left(1000), right(1000);  // plain memory, no atomics
  cohort::gather(
      s, [&] { std::iota(left.begin(), left.end(), 0); },
      [&] { std::iota(right.begin(), right.end(), 1000); });
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(left[i], i);
    ASSERT_EQ(right[i], 1000 + i);
  }
}

// ===== gather(f...): failure ============================================================

TEST(gather_failure, first_failure_skips_later_callables_on_one_worker) {
  cohort::scheduler s({.workers = 1, .name = "g1"});
  std::atomic<int> later{0};
  try {
    cohort::gather(
        s, [] { return 1; }, []() -> int { throw boom("second"); }, [&] { return ++later; },
        [&] { return ++later; });
    FAIL() << "gather returned although a callable failed";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 1u);
    EXPECT_EQ(describe(e.exceptions()[0]), "second");
    EXPECT_NE(std::string(e.what()).find("second"), std::string::npos) << e.what();
  }
  EXPECT_EQ(later.load(), 0) << "callables after the first failure must never be called";
}

TEST(gather_failure, first_failure_skips_later_callables_on_one_worker_from_inside_a_task) {
  cohort::scheduler s({.workers = 1, .name = "g1"});
  std::atomic<int> later{0};
  std::atomic<bool> caught{false};
  cohort::task_group g(s);
  auto t = g.spawn([&] {
    try {
      cohort::gather([]() -> int { throw boom("first"); }, [&] { return ++later; },
                     [&] { return ++later; });
    } catch (const cohort::task_group_error& e) {
      caught = e.exceptions().size() == 1 && describe(e.exceptions()[0]) == "first";
    }
  });
  // Left to the worker alone: a join from here could run the task on this thread (in
  // its slot), and the idle worker would then steal the later callables.
  EXPECT_TRUE(poll_until([&] { return t.status() == cohort::task_status::succeeded; }));
  g.join();
  EXPECT_TRUE(caught.load());
  EXPECT_EQ(later.load(), 0);
}

TEST(gather_failure, running_siblings_see_their_stop_token_and_have_ended_when_gather_throws) {
  cohort::scheduler s({.workers = 2, .name = "g2"});
  std::atomic<bool> started{false}, saw_stop{false}, ended{false};
  EXPECT_THROW(cohort::gather(
                   s,
                   [&](std::stop_token st) {
                     started = true;
                     saw_stop = poll_until([&] { return st.stop_requested(); });
                     std::this_thread::sleep_for(20ms);  // slow to wind down
                     ended = true;
                     return 0;
                   },
                   [&]() -> int {
                     poll_until([&] { return started.load(); });
                     throw boom("late");
                   }),
               cohort::task_group_error);
  EXPECT_TRUE(ended.load()) << "gather returned while a callable still ran";
  EXPECT_TRUE(started.load());
  EXPECT_TRUE(saw_stop.load());
}

TEST(gather_failure, all_failures_are_reported_in_argument_order) {
  // Three callables run at once (three workers), then fail in reverse argument order.
  cohort::scheduler s({.workers = 3, .name = "g3"});
  std::atomic<int> arrived{0}, turn{0};
  auto make = [&](int index, int my_turn) {
    return [&, index, my_turn]() -> int {
      ++arrived;
      poll_until([&] { return arrived.load() == 3; });
      poll_until([&] { return turn.load() == my_turn; });
      ++turn;
      throw boom(label("f", index));
    };
  };
  try {
    cohort::gather(s, make(0, 2), make(1, 1), make(2, 0));
    FAIL() << "gather returned although every callable failed";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 3u) << e.what();
    EXPECT_EQ(describe(e.exceptions()[0]), "f0");
    EXPECT_EQ(describe(e.exceptions()[1]), "f1");
    EXPECT_EQ(describe(e.exceptions()[2]), "f2");
    // what() names the first failure in argument order, not the first in time.
    EXPECT_NE(std::string(e.what()).find("f0"), std::string::npos) << e.what();
  }
}

TEST(gather_failure, non_std_exception_is_carried) {
  cohort::scheduler s({.workers = 1, .name = "g1"});
  try {
    cohort::gather(
        s, []() -> int { throw 42; }, [] { return 1; });
    FAIL();
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 1u);
    EXPECT_EQ(describe(e.exceptions()[0]), "int:42");
    EXPECT_NE(e.what(), nullptr);
    try {
      std::rethrow_exception(e.exceptions()[0]);
    } catch (int v) {
      EXPECT_EQ(v, 42);
    } catch (...) {
      ADD_FAILURE() << "not the int that was thrown";
    }
  }
}

TEST(gather_failure, failed_gather_is_a_failure_of_the_enclosing_child) {
  cohort::scheduler s({.workers = 2, .name = "g2"});
  cohort::task_group g(s);
  auto t = g.spawn([] { cohort::gather([] {}, []() { throw boom("inner"); }); });
  try {
    g.join();
    FAIL();
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 1u);
    try {
      std::rethrow_exception(e.exceptions()[0]);
    } catch (const cohort::task_group_error& inner) {
      ASSERT_EQ(inner.exceptions().size(), 1u);
      EXPECT_EQ(describe(inner.exceptions()[0]), "inner");
    } catch (...) {
      ADD_FAILURE() << "the child's exception should be gather's task_group_error";
    }
  }
  EXPECT_EQ(t.status(), cohort::task_status::failed);
}

// A callable that itself throws task_cancelled (here: get() on a task that was cancelled
// on its own) while nobody cancelled the gather. It is not a failure (the task_group rule),
// and its slot holds no value, so gather can only report the cancellation: it must throw
// task_cancelled (gather.hpp: a callable's task_cancelled is an observed cancellation).
// This once read the empty slot: undefined behaviour, a crash for a string.
TEST(gather_failure, callable_throwing_task_cancelled_without_cancel_throws_task_cancelled) {
  cohort::scheduler s({.workers = 1, .name = "g1"});
  cohort::task_group g(s);
  // The idle worker may start it before the cancel below: then it waits for the cancel
  // and ends as a cancelled task does (a task that never started ends the same way).
  auto victim = g.spawn([](std::stop_token st) -> std::string {
    while (!st.stop_requested()) std::this_thread::sleep_for(std::chrono::microseconds(100));
    throw cohort::task_cancelled();
  });
  victim.cancel();
  victim.wait();
  ASSERT_EQ(victim.status(), cohort::task_status::cancelled);
  EXPECT_THROW(
      cohort::gather(
          s, [] { return std::string("fine"); }, [&]() -> std::string { return victim.get(); }),
      cohort::task_cancelled);
  g.join();
}

// ===== gather(f...): cancellation from outside ==========================================

TEST(gather_cancel, group_cancel_stops_running_callables_and_gather_throws_task_cancelled) {
  cohort::scheduler s({.workers = 3, .name = "gc"});
  std::atomic<int> started{0}, saw_stop{0};
  std::atomic<bool> gather_threw_cancelled{false};
  auto spinner = [&](std::stop_token st) {
    ++started;
    if (poll_until([&] { return st.stop_requested(); })) ++saw_stop;
    return 1;
  };
  cohort::task_group g(s);
  auto t = g.spawn([&] {
    try {
      auto [a, b] = cohort::gather(spinner, spinner);
      return a + b;
    } catch (const cohort::task_cancelled&) {
      gather_threw_cancelled = true;
      throw;
    }
  });
  ASSERT_TRUE(poll_until([&] { return started.load() == 2; }));
  g.cancel();
  EXPECT_NO_THROW(g.join());  // the group's own cancel: join returns normally
  EXPECT_EQ(saw_stop.load(), 2);
  EXPECT_TRUE(gather_threw_cancelled.load());
  EXPECT_EQ(t.status(), cohort::task_status::cancelled);
  EXPECT_THROW(t.get(), cohort::task_cancelled);
}

TEST(gather_cancel, sibling_failure_cancels_the_gather_which_is_not_itself_a_failure) {
  cohort::scheduler s({.workers = 4, .name = "gc"});
  std::atomic<int> started{0}, saw_stop{0};
  auto spinner = [&](std::stop_token st) {
    ++started;
    if (poll_until([&] { return st.stop_requested(); })) ++saw_stop;
    return 1;
  };
  cohort::task_group g(s);
  auto a = g.spawn([&] {
    auto [x, y] = cohort::gather(spinner, spinner);
    return x + y;
  });
  auto b = g.spawn([&] {
    poll_until([&] { return started.load() == 2; });
    throw boom("sibling");
  });
  try {
    g.join();
    FAIL();
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 1u) << e.what();
    EXPECT_EQ(describe(e.exceptions()[0]), "sibling");
  }
  EXPECT_EQ(started.load(), 2);
  EXPECT_EQ(saw_stop.load(), 2);
  EXPECT_EQ(a.status(), cohort::task_status::cancelled);
  EXPECT_EQ(b.status(), cohort::task_status::failed);
}

TEST(gather_cancel, cancelling_the_enclosing_task_alone_cancels_its_gather_and_not_the_siblings) {
  cohort::scheduler s({.workers = 4, .name = "gc"});
  std::atomic<int> started{0}, saw_stop{0};
  std::atomic<bool> sibling_stopped{false}, release_sibling{false};
  auto spinner = [&](std::stop_token st) {
    ++started;
    if (poll_until([&] { return st.stop_requested(); })) ++saw_stop;
    return 1;
  };
  cohort::task_group g(s);
  auto t = g.spawn([&] {
    auto [a, b] = cohort::gather(spinner, spinner);
    return a + b;
  });
  auto sibling = g.spawn([&](std::stop_token st) {
    poll_until([&] { return release_sibling.load() || st.stop_requested(); });
    sibling_stopped = st.stop_requested();
    return 2;
  });
  ASSERT_TRUE(poll_until([&] { return started.load() == 2; }));
  t.cancel();
  t.wait();
  EXPECT_EQ(saw_stop.load(), 2);
  EXPECT_EQ(t.status(), cohort::task_status::cancelled);
  release_sibling = true;
  EXPECT_NO_THROW(g.join());
  EXPECT_FALSE(sibling_stopped.load());
  EXPECT_EQ(sibling.get(), 2);
}

TEST(gather_cancel, gather_in_an_already_cancelled_task_calls_nothing_and_throws_task_cancelled) {
  cohort::scheduler s({.workers = 2, .name = "gc"});
  std::atomic<int> calls{0}, cancelled_throws{0};
  std::atomic<bool> started{false};
  cohort::task_group g(s);
  auto t = g.spawn([&](std::stop_token st) {
    started = true;
    poll_until([&] { return st.stop_requested(); });
    auto count = [&] { return ++calls; };
    try {
      cohort::gather(count, count);
    } catch (const cohort::task_cancelled&) {
      ++cancelled_throws;
    }
    try {
      cohort::gather_settled(count, count);
    } catch (const cohort::task_cancelled&) {
      ++cancelled_throws;
    }
    std::vector<int> v(10);
    try {
      cohort::gather(v, [&](int) { return ++calls; });
    } catch (const cohort::task_cancelled&) {
      ++cancelled_throws;
    }
  });
  ASSERT_TRUE(poll_until([&] { return started.load(); }));
  g.cancel();
  g.join();
  EXPECT_EQ(calls.load(), 0) << "a gather started after its scope was cancelled ran callables";
  EXPECT_EQ(cancelled_throws.load(), 3);
  EXPECT_EQ(t.status(), cohort::task_status::cancelled);
}

TEST(gather_cancel, gather_settled_throws_task_cancelled_when_the_enclosing_group_is_cancelled) {
  cohort::scheduler s({.workers = 3, .name = "gc"});
  std::atomic<int> started{0}, saw_stop{0};
  std::atomic<bool> threw_cancelled{false};
  auto spinner = [&](std::stop_token st) {
    ++started;
    if (poll_until([&] { return st.stop_requested(); })) ++saw_stop;
    return 1;
  };
  cohort::task_group g(s);
  auto t = g.spawn([&] {
    try {
      cohort::gather_settled(spinner, spinner);
    } catch (const cohort::task_cancelled&) {
      threw_cancelled = true;
      throw;
    }
  });
  ASSERT_TRUE(poll_until([&] { return started.load() == 2; }));
  g.cancel();
  g.join();
  EXPECT_EQ(saw_stop.load(), 2);
  EXPECT_TRUE(threw_cancelled.load());
  EXPECT_EQ(t.status(), cohort::task_status::cancelled);
}

TEST(gather_cancel, group_deadline_cancels_a_running_gather) {
  cohort::scheduler s({.workers = 3, .name = "gc"});
  std::atomic<int> saw_stop{0};
  auto spinner = [&](std::stop_token st) {
    if (poll_until([&] { return st.stop_requested(); })) ++saw_stop;
    return 1;
  };
  cohort::task_group g(s);
  g.cancel_after(30ms);
  auto t = g.spawn([&] {
    auto [a, b] = cohort::gather(spinner, spinner);
    return a + b;
  });
  EXPECT_THROW(g.join(), cohort::timeout_error);
  EXPECT_EQ(saw_stop.load(), 2);
  EXPECT_EQ(t.status(), cohort::task_status::cancelled);
}

TEST(gather_cancel, nested_gathers_inside_a_cancelled_group_all_end_and_nothing_leaks) {
  cohort::scheduler s({.workers = 4, .name = "gn"});
  std::atomic<int> started{0}, ended{0}, cancels_seen{0};
  tracker::live = 0;
  {
    auto spinner = [&, tr = tracker{}](std::stop_token st) {
      ++started;
      poll_until([&] { return st.stop_requested(); });
      ++ended;
      return 1;
    };
    auto note = [&](auto body) {
      try {
        return body();
      } catch (const cohort::task_cancelled&) {
        ++cancels_seen;
        throw;
      }
    };
    cohort::task_group g(s);
    auto t = g.spawn([&, spinner, tr = tracker{}] {
      auto [x, y] = cohort::gather(
          [&] {
            return note([&] {
              auto [a, b] = cohort::gather(spinner, spinner);  // gather in gather
              return a + b;
            });
          },
          [&] {
            return note([&] {
              // Both elements must start (started == 4): the adaptive splitter cuts a
              // range of two into single elements on any pool of two or more workers.
              std::vector<int> v{0, 1};
              auto out = cohort::gather(v, [&](int) {  // range gather in gather
                auto [z] = cohort::gather(spinner);
                return z;
              });
              return out[0] + out[1];
            });
          });
      return x + y;
    });
    ASSERT_TRUE(poll_until([&] { return started.load() == 4; })) << started.load();
    g.cancel();
    g.join();
    EXPECT_EQ(t.status(), cohort::task_status::cancelled);
    EXPECT_THROW(t.get(), cohort::task_cancelled);
  }
  EXPECT_EQ(ended.load(), started.load());
  EXPECT_EQ(cancels_seen.load(), 2) << "both inner gathers should throw task_cancelled";
  EXPECT_EQ(tracker::live.load(), 0) << "a callable outlived the group";
  EXPECT_EQ(s.stats().detached_pending, 0u);
}

// ===== where gather runs: explicit and ambient scheduler ================================

TEST(gather_scheduler, explicit_scheduler_from_outside_the_pool_runs_on_its_workers) {
  cohort::scheduler s({.workers = 3, .name = "cmbx"});
  auto [a, b, c] = cohort::gather(s, thread_name, thread_name, thread_name);
  for (const auto& n : {a, b, c}) EXPECT_TRUE(is_worker_of(n, "cmbx", 3)) << n;
  std::vector<int> v(64);
  auto names = cohort::gather(s, v, [](int) { return thread_name(); });
  for (const auto& n : names) EXPECT_TRUE(is_worker_of(n, "cmbx", 3)) << n;
  auto [o] = cohort::gather_settled(s, thread_name);
  EXPECT_TRUE(is_worker_of(o.value(), "cmbx", 3)) << o.value();
}

TEST(gather_scheduler, ambient_inside_a_task_uses_that_tasks_scheduler) {
  cohort::scheduler s({.workers = 3, .name = "cmbx"});
  std::vector<std::string> names;
  cohort::task_group g(s);
  // Where each piece runs, by thread name; "on cmbx" where it is a job of s's pool on a
  // thread that is not one of its workers (the outer task may run on this thread, in
  // its slot, when join gets to it first: outside_slots.hpp).
  auto where = [&s] { return cohort_test::runs_on(s) ? std::string("on cmbx") : thread_name(); };
  g.spawn([&] {
    auto [a, b, c] = cohort::gather(where, where, where);
    names = {a, b, c};
    std::vector<int> v(64);
    for (auto& n : cohort::gather(v, [&](int) { return where(); })) names.push_back(n);
    auto [o1, o2] = cohort::gather_settled(where, where);
    names.push_back(o1.value());
    names.push_back(o2.value());
    for (auto& o : cohort::gather_settled(v, [&](int) { return where(); }))
      names.push_back(o.value());
  });
  g.join();
  ASSERT_EQ(names.size(), 3u + 64u + 2u + 64u);
  for (const auto& n : names) EXPECT_TRUE(n == "on cmbx" || is_worker_of(n, "cmbx", 3)) << n;
}

TEST(gather_scheduler, ambient_outside_any_task_uses_the_default_scheduler) {
  const std::size_t n = cohort::default_scheduler().workers();
  auto [a, b] = cohort::gather(thread_name, thread_name);
  EXPECT_TRUE(is_worker_of(a, "cohort", n)) << a;
  EXPECT_TRUE(is_worker_of(b, "cohort", n)) << b;
}

TEST(gather_scheduler, explicit_other_scheduler_from_inside_a_task_runs_there_and_cancel_flows_in) {
  cohort::scheduler home({.workers = 2, .name = "gxa"});
  cohort::scheduler away({.workers = 2, .name = "gxb"});
  {
    cohort::task_group g(home);
    auto t = g.spawn([&] {
      auto [a, b] = cohort::gather(away, thread_name, thread_name);
      return std::vector<std::string>{a, b};
    });
    g.join();
    for (const auto& n : t.get()) EXPECT_TRUE(is_worker_of(n, "gxb", 2)) << n;
  }
  {
    std::atomic<int> started{0}, saw_stop{0};
    auto spinner = [&](std::stop_token st) {
      ++started;
      if (poll_until([&] { return st.stop_requested(); })) ++saw_stop;
      return 0;
    };
    cohort::task_group g(home);
    auto t = g.spawn([&] { cohort::gather(away, spinner, spinner); });
    ASSERT_TRUE(poll_until([&] { return started.load() == 2; }));
    g.cancel();
    g.join();
    EXPECT_EQ(saw_stop.load(), 2);
    EXPECT_EQ(t.status(), cohort::task_status::cancelled);
  }
}

// ===== recursive fork-join ==============================================================

TEST(gather_fork_join, recursive_fib_on_two_workers) {
  cohort::scheduler s({.workers = 2, .name = "fib"});
  const int n = cohort_test::under_tsan ? 22 : 30;
  const long expected = cohort_test::under_tsan ? 17711 : 832040;
  auto [r] = cohort::gather(s, [n] { return fib(n); });
  EXPECT_EQ(r, expected);
  // From inside a task as well (the ambient form all the way down).
  cohort::task_group g(s);
  auto t = g.spawn([] { return fib(20); });
  g.join();
  EXPECT_EQ(t.get(), 6765);
}

}  // namespace
