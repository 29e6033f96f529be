// SPDX-License-Identifier: Apache-2.0
// gather and gather_settled: results in argument / input order, failure, cancellation from
// outside, ambient vs explicit scheduler, nesting, recursive fork-join.
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

#include "test_support.hpp"

namespace {

using cohort_test::boom;
using cohort_test::is_worker_of;
using cohort_test::label;
using cohort_test::poll_until;
using cohort_test::thread_name;

using namespace std::chrono_literals;

// What an exception_ptr holds, for comparisons: the what() of a std::exception, "int:<v>"
// for an int, "?" otherwise.
std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (int v) {
    return label("int:", v);
  } catch (...) {
    return "?";
  }
}

struct no_default {
  explicit no_default(int x) : v(x) {}
  no_default() = delete;
  int v;
};

// Counts live copies, to check that nothing a combinator held on to outlives it.
struct tracker {
  static inline std::atomic<int> live{0};
  tracker() noexcept { live.fetch_add(1); }
  tracker(const tracker&) noexcept { live.fetch_add(1); }
  tracker(tracker&&) noexcept { live.fetch_add(1); }
  tracker& operator=(const tracker&) = default;
  ~tracker() { live.fetch_sub(1); }
};

// A single-pass range that makes its elements as it goes (a generator): input_range only.
class counting_input {
 public:
  explicit counting_input(int n) : n_(n) {}
  class iterator {
   public:
    using iterator_concept = std::input_iterator_tag;
    using value_type = int;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(counting_input* r) : r_(r) {}
    int operator*() const { return r_->cur_; }
    iterator& operator++() {
      ++r_->cur_;
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return r_->cur_ >= r_->n_; }

   private:
    counting_input* r_ = nullptr;
  };
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const { return {}; }

 private:
  int n_;
  int cur_ = 0;
};
static_assert(std::ranges::input_range<counting_input>);
static_assert(!std::ranges::forward_range<counting_input>);

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
  g.spawn([&] {
    try {
      cohort::gather([]() -> int { throw boom("first"); }, [&] { return ++later; },
                     [&] { return ++later; });
    } catch (const cohort::task_group_error& e) {
      caught = e.exceptions().size() == 1 && describe(e.exceptions()[0]) == "first";
    }
  });
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
// task_cancelled. KNOWN BUG: gather_here() finds no failure and no cancelled frame and
// reads the empty std::optional (`*s.value`): undefined behaviour, a crash for a string.
TEST(gather_failure, callable_throwing_task_cancelled_without_cancel_throws_task_cancelled) {
  cohort::scheduler s({.workers = 1, .name = "g1"});
  cohort::task_group g(s);
  auto victim = g.spawn([] { return std::string("never"); });
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
  g.spawn([&] {
    auto [a, b, c] = cohort::gather(thread_name, thread_name, thread_name);
    names = {a, b, c};
    std::vector<int> v(64);
    for (auto& n : cohort::gather(v, [](int) { return thread_name(); })) names.push_back(n);
    auto [o1, o2] = cohort::gather_settled(thread_name, thread_name);
    names.push_back(o1.value());
    names.push_back(o2.value());
    for (auto& o : cohort::gather_settled(v, [](int) { return thread_name(); }))
      names.push_back(o.value());
  });
  g.join();
  ASSERT_EQ(names.size(), 3u + 64u + 2u + 64u);
  for (const auto& n : names) EXPECT_TRUE(is_worker_of(n, "cmbx", 3)) << n;
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

// ===== gather(range, fn): results =======================================================

TEST(gather_range, vector_results_in_input_order) {
  cohort::scheduler s({.workers = 2, .name = "gr"});
  std::vector<int> v(1000);
  std::iota(v.begin(), v.end(), 0);
  auto out = cohort::gather(s, v, [](int x) { return x * x; });
  static_assert(std::is_same_v<decltype(out), std::vector<int>>);
  ASSERT_EQ(out.size(), v.size());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(out[i], i * i) << i;
}

TEST(gather_range, empty_range_gives_empty_vector) {
  cohort::scheduler s({.workers = 2, .name = "gr"});
  std::vector<int> v;
  int calls = 0;
  auto out = cohort::gather(s, v, [&](int x) {
    ++calls;
    return x;
  });
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(calls, 0);
}

TEST(gather_range, list_is_a_forward_range_and_elements_are_passed_by_reference) {
  cohort::scheduler s({.workers = 2, .name = "gr"});
  std::list<std::string> words{"a", "bb", "ccc", "dddd", "eeeee", "ffffff", "g"};
  static_assert(!std::ranges::random_access_range<decltype(words)>);
  auto lens = cohort::gather(s, words, [](std::string& w) {
    w += "!";
    return w.size();
  });
  EXPECT_EQ(lens, (std::vector<std::size_t>{2, 3, 4, 5, 6, 7, 2}));
  EXPECT_EQ(words.front(), "a!");
  EXPECT_EQ(words.back(), "g!");
}

TEST(gather_range, input_only_common_range) {
  // istream_iterator: single pass, begin and end of the same type.
#ifdef COHORT_TEST_NO_STD_VIEWS
  GTEST_SKIP() << "std::ranges::subrange does not compile with clang 14 and libstdc++ 12";
#else
  cohort::scheduler s({.workers = 2, .name = "gr"});
  std::istringstream in("5 1 4 2 3 9 8 7 6 0");
  auto view = std::ranges::subrange(std::istream_iterator<int>(in), std::istream_iterator<int>());
  static_assert(!std::ranges::forward_range<decltype(view)>);
  auto out = cohort::gather(s, view, [](int x) { return x * 10; });
  EXPECT_EQ(out, (std::vector<int>{50, 10, 40, 20, 30, 90, 80, 70, 60, 0}));
#endif
}

// KNOWN BUG (include/cohort/gather.hpp, random_access_view): an input-only range whose end
// is a sentinel of another type (std::views::istream, any generator-like view) does not
// compile: `std::vector(begin, end)` needs a common iterator type. Until that is fixed these
// two tests fail at run time instead of breaking the build of every test; build with
// -DCOHORT_TEST_SENTINEL_INPUT_RANGES=1 (or flip the default below) to compile the real ones.
#ifndef COHORT_TEST_SENTINEL_INPUT_RANGES
#define COHORT_TEST_SENTINEL_INPUT_RANGES 1
#endif
#if COHORT_TEST_SENTINEL_INPUT_RANGES
TEST(gather_range, input_only_istream_view) {
#ifdef COHORT_TEST_NO_STD_VIEWS
  GTEST_SKIP() << "std::views::istream does not compile with clang 14 and libstdc++ 12";
#else
  cohort::scheduler s({.workers = 2, .name = "gr"});
  std::istringstream in("5 1 4 2 3 9 8 7 6 0");
  auto view = std::views::istream<int>(in);
  static_assert(!std::ranges::forward_range<decltype(view)>);
  auto out = cohort::gather(s, view, [](int x) { return x * 10; });
  EXPECT_EQ(out, (std::vector<int>{50, 10, 40, 20, 30, 90, 80, 70, 60, 0}));
  std::istringstream in2("4 5 6");
  auto settled = cohort::gather_settled(s, std::views::istream<int>(in2), [](int x) { return x; });
  ASSERT_EQ(settled.size(), 3u);
  EXPECT_EQ(settled[2].value(), 6);
#endif
}

TEST(gather_range, input_only_generator_like_range) {
  cohort::scheduler s({.workers = 2, .name = "gr"});
  counting_input gen(500);
  auto out = cohort::gather(s, gen, [](int x) { return x + 1; });
  ASSERT_EQ(out.size(), 500u);
  for (int i = 0; i < 500; ++i) ASSERT_EQ(out[i], i + 1);
}
#else
TEST(gather_range, input_only_istream_view) {
  FAIL() << "known bug: cohort::gather(std::views::istream<int>(in), fn) does not compile "
            "(gather.hpp random_access_view builds std::vector(begin, end) from an iterator "
            "and a sentinel of another type); rebuild with -DCOHORT_TEST_SENTINEL_INPUT_RANGES=1";
}
TEST(gather_range, input_only_generator_like_range) {
  FAIL() << "known bug: cohort::gather over an input-only range with a sentinel end (a "
            "generator-like view) does not compile; rebuild with "
            "-DCOHORT_TEST_SENTINEL_INPUT_RANGES=1";
}
#endif

TEST(gather_range, rvalue_view_and_const_vector) {
  cohort::scheduler s({.workers = 2, .name = "gr"});
#ifdef COHORT_TEST_NO_STD_VIEWS
  std::vector<int> hundred(100);  // clang 14 + libstdc++ 12: no std::views (test_support.hpp)
  for (int i = 0; i < 100; ++i) hundred[i] = i;
  auto out = cohort::gather(s, std::move(hundred), [](int x) { return -x; });
#else
  auto out = cohort::gather(s, std::views::iota(0, 100), [](int x) { return -x; });
#endif
  ASSERT_EQ(out.size(), 100u);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(out[i], -i);
  const std::vector<std::string> cv{"x", "yy"};
  EXPECT_EQ(cohort::gather(s, cv, [](const std::string& w) { return w.size(); }),
            (std::vector<std::size_t>{1, 2}));
}

TEST(gather_range, result_type_that_is_not_default_constructible) {
  cohort::scheduler s({.workers = 2, .name = "gr"});
  std::vector<int> v(300);
  std::iota(v.begin(), v.end(), 0);
  auto out = cohort::gather(s, v, [](int x) { return no_default(x * 3); });
  static_assert(std::is_same_v<decltype(out), std::vector<no_default>>);
  ASSERT_EQ(out.size(), 300u);
  for (int i = 0; i < 300; ++i) ASSERT_EQ(out[i].v, i * 3);
}

TEST(gather_range, million_elements_in_order) {
  cohort::scheduler s({.workers = 2, .name = "gr"});
  std::vector<int> v(1'000'000);
  std::iota(v.begin(), v.end(), 0);
  auto out = cohort::gather(s, v, [](int x) { return static_cast<long long>(x) * 2 + 1; });
  ASSERT_EQ(out.size(), v.size());
  for (std::size_t i = 0; i < out.size(); ++i)
    if (out[i] != static_cast<long long>(i) * 2 + 1) FAIL() << "wrong result at " << i;
}

TEST(gather_range, void_fn_visits_every_element_once) {
  cohort::scheduler s({.workers = 2, .name = "gr"});
  constexpr int n = 10'000;
  std::vector<int> v(n);
  std::iota(v.begin(), v.end(), 0);
  std::vector<std::atomic<int>> hits(n);
  using R = decltype(cohort::gather(s, v, [&](int x) { hits[x].fetch_add(1); }));
  static_assert(std::is_void_v<R>);
  cohort::gather(s, v, [&](int x) { hits[x].fetch_add(1); });
  for (int i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << i;
}

TEST(gather_range, ambient_inside_a_task) {
  cohort::scheduler s({.workers = 2, .name = "gr"});
  cohort::task_group g(s);
  auto t = g.spawn([] {
    std::vector<int> v(2000);
    std::iota(v.begin(), v.end(), 0);
    return cohort::gather(v, [](int x) { return x + 7; });
  });
  g.join();
  auto out = t.get();
  ASSERT_EQ(out.size(), 2000u);
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(out[i], i + 7);
}

// ===== gather(range, fn): failure and cancellation ======================================

TEST(gather_range_failure, first_failure_skips_later_elements_on_one_worker) {
  cohort::scheduler s({.workers = 1, .name = "gr1"});
  std::vector<int> v(100);
  std::iota(v.begin(), v.end(), 0);
  std::atomic<int> highest{-1}, calls{0};
  try {
    cohort::gather(s, v, [&](int x) {
      ++calls;
      cohort_test::atomic_max(highest, x);
      if (x == 10) throw boom("ten");
      return x;
    });
    FAIL();
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 1u);
    EXPECT_EQ(describe(e.exceptions()[0]), "ten");
  }
  EXPECT_EQ(highest.load(), 10) << "elements after the failing one were called";
  EXPECT_EQ(calls.load(), 11);
}

TEST(gather_range_failure, running_elements_have_ended_when_gather_throws) {
  cohort::scheduler s({.workers = 2, .name = "gr2"});
  std::vector<int> v{0, 1};
  std::atomic<bool> started{false}, failed{false}, ended{false};
  EXPECT_THROW(cohort::gather(s, v,
                              [&](int x) {
                                if (x == 1) {
                                  poll_until([&] { return started.load(); });
                                  failed = true;
                                  throw boom("one");
                                }
                                started = true;
                                poll_until([&] { return failed.load(); });
                                std::this_thread::sleep_for(20ms);
                                ended = true;
                                return x;
                              }),
               cohort::task_group_error);
  EXPECT_TRUE(ended.load()) << "gather returned while an element still ran";
}

TEST(gather_range_failure, all_failures_in_input_order) {
  cohort::scheduler s({.workers = 3, .name = "gr3"});
  std::vector<int> v{0, 1, 2};
  std::atomic<int> arrived{0}, turn{0};
  try {
    cohort::gather(s, v, [&](int x) -> int {
      ++arrived;
      poll_until([&] { return arrived.load() == 3; });
      poll_until([&] { return turn.load() == 2 - x; });  // element 2 fails first
      ++turn;
      throw boom(label("e", x));
    });
    FAIL();
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 3u) << e.what();
    EXPECT_EQ(describe(e.exceptions()[0]), "e0");
    EXPECT_EQ(describe(e.exceptions()[1]), "e1");
    EXPECT_EQ(describe(e.exceptions()[2]), "e2");
    EXPECT_NE(std::string(e.what()).find("e0"), std::string::npos) << e.what();
  }
}

TEST(gather_range_failure, non_std_exception_is_carried) {
  cohort::scheduler s({.workers = 2, .name = "gr"});
  std::vector<int> v{1, 2, 3};
  try {
    cohort::gather(s, v, [](int x) {
      if (x == 2) throw x;
    });
    FAIL();
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 1u);
    EXPECT_EQ(describe(e.exceptions()[0]), "int:2");
  }
}

TEST(gather_range_failure, non_default_constructible_result_with_a_failure) {
  cohort::scheduler s({.workers = 1, .name = "gr1"});
  std::vector<int> v{0, 1, 2, 3};
  EXPECT_THROW(cohort::gather(s, v,
                              [](int x) {
                                if (x == 1) throw boom("one");
                                return no_default(x);
                              }),
               cohort::task_group_error);
}

// As for the tuple form: an element whose fn throws task_cancelled by itself must not leave
// a hole in the result. KNOWN BUG: gather_range_here() drops the cancellation and returns
// a default-constructed value in that place (or reads an empty optional for a type that is
// not default-constructible).
TEST(gather_range_failure, element_throwing_task_cancelled_without_cancel_throws_task_cancelled) {
  cohort::scheduler s({.workers = 1, .name = "gr1"});
  std::vector<int> v{0, 1, 2};
  EXPECT_THROW(cohort::gather(s, v,
                              [](int x) {
                                if (x == 1) throw cohort::task_cancelled();
                                return x + 100;
                              }),
               cohort::task_cancelled);
  EXPECT_THROW(cohort::gather(s, v,
                              [](int x) {
                                if (x == 1) throw cohort::task_cancelled();
                                return no_default(x);
                              }),
               cohort::task_cancelled);
}

TEST(gather_range_cancel, group_cancel_skips_remaining_elements_and_throws_task_cancelled) {
  cohort::scheduler s({.workers = 1, .name = "grc"});
  std::atomic<int> calls{0};
  std::atomic<bool> started{false}, threw_cancelled{false};
  std::vector<int> v(1000);
  std::iota(v.begin(), v.end(), 0);
  cohort::task_group g(s);
  auto stop = g.stop_token();
  auto t = g.spawn([&] {
    try {
      return cohort::gather(v, [&](int x) {
        ++calls;
        if (x == 0) {
          started = true;
          poll_until([&] { return stop.stop_requested(); });
        }
        return x;
      });
    } catch (const cohort::task_cancelled&) {
      threw_cancelled = true;
      throw;
    }
  });
  ASSERT_TRUE(poll_until([&] { return started.load(); }));
  g.cancel();
  g.join();
  EXPECT_TRUE(threw_cancelled.load());
  // A running piece of a range gather checks for cancellation every
  // cohort::detail::cancel_check_stride (64) elements; with one worker only one piece runs.
  EXPECT_LE(calls.load(), static_cast<int>(cohort::detail::cancel_check_stride))
      << "elements not started when the group was cancelled ran anyway";
  EXPECT_LT(calls.load(), 1000);
  EXPECT_EQ(t.status(), cohort::task_status::cancelled);
}

// ===== gather_settled(f...) =============================================================

TEST(gather_settled, values_errors_and_cancellations_in_place) {
  cohort::scheduler s({.workers = 1, .name = "gs1"});
  std::atomic<int> calls{0};
  auto r = cohort::gather_settled(
      s,
      [&] {
        ++calls;
        return 1;
      },
      [&]() -> int {
        ++calls;
        throw boom("two");
      },
      [&]() -> int {
        ++calls;
        throw cohort::task_cancelled();
      },
      [&] { ++calls; },
      [&]() -> std::string {
        ++calls;
        throw 5;
      },
      [&] {
        ++calls;
        return std::string("six");
      });
  static_assert(
      std::is_same_v<decltype(r),
                     std::tuple<cohort::outcome<int>, cohort::outcome<int>, cohort::outcome<int>,
                                cohort::outcome<void>, cohort::outcome<std::string>,
                                cohort::outcome<std::string>>>);
  EXPECT_EQ(calls.load(), 6) << "a failure must not cancel the other callables";

  auto& [o1, o2, o3, o4, o5, o6] = r;
  ASSERT_TRUE(o1.has_value());
  EXPECT_EQ(o1.value(), 1);
  EXPECT_FALSE(o1.failed());
  EXPECT_EQ(o1.error(), nullptr);

  EXPECT_TRUE(o2.failed());
  EXPECT_FALSE(o2.has_value());
  EXPECT_EQ(describe(o2.error()), "two");
  EXPECT_THROW(o2.value(), boom);

  EXPECT_TRUE(o3.cancelled());
  EXPECT_FALSE(o3.failed());
  EXPECT_EQ(o3.error(), nullptr);
  EXPECT_THROW(o3.value(), cohort::task_cancelled);

  EXPECT_TRUE(o4.has_value());
  EXPECT_NO_THROW(o4.value());

  EXPECT_TRUE(o5.failed());
  EXPECT_EQ(describe(o5.error()), "int:5");

  ASSERT_TRUE(o6.has_value());
  EXPECT_EQ(std::move(o6).value(), "six");
}

TEST(gather_settled, failure_never_requests_the_siblings_stop_tokens) {
  cohort::scheduler s({.workers = 2, .name = "gs2"});
  std::atomic<bool> failed{false};
  auto [a, b] = cohort::gather_settled(
      s,
      [&](std::stop_token st) {
        poll_until([&] { return failed.load(); });
        std::this_thread::sleep_for(5ms);  // give a (wrong) cancel time to arrive
        return st.stop_requested();
      },
      [&]() -> int {
        failed = true;
        throw boom("x");
      });
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(a.value()) << "gather_settled cancelled a sibling after a failure";
  EXPECT_TRUE(b.failed());
}

TEST(gather_settled, ambient_inside_a_task) {
  cohort::scheduler s({.workers = 2, .name = "gs"});
  cohort::task_group g(s);
  auto t = g.spawn([] {
    auto [a, b] = cohort::gather_settled([] { return 3; }, []() -> int { throw boom("b"); });
    return a.value() * 10 + (b.failed() ? 1 : 0);
  });
  g.join();  // a failure inside gather_settled is not a failure of the child
  EXPECT_EQ(t.get(), 31);
}

// ===== gather_settled(range, fn) ========================================================

TEST(gather_settled_range, outcomes_in_input_order_and_every_element_runs) {
  cohort::scheduler s({.workers = 1, .name = "gs1"});
  std::vector<int> v(10);
  std::iota(v.begin(), v.end(), 0);
  std::atomic<int> calls{0};
  auto out = cohort::gather_settled(s, v, [&](int x) {
    ++calls;
    if (x == 5) throw cohort::task_cancelled();
    if (x % 3 == 1) throw boom(label("bad", x));
    return x * 10;
  });
  static_assert(std::is_same_v<decltype(out), std::vector<cohort::outcome<int>>>);
  EXPECT_EQ(calls.load(), 10);
  ASSERT_EQ(out.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    if (i == 5) {
      EXPECT_TRUE(out[i].cancelled()) << i;
    } else if (i % 3 == 1) {
      ASSERT_TRUE(out[i].failed()) << i;
      EXPECT_EQ(describe(out[i].error()), label("bad", i));
    } else {
      ASSERT_TRUE(out[i].has_value()) << i;
      EXPECT_EQ(out[i].value(), i * 10);
    }
  }
}

TEST(gather_settled_range, void_fn_list_and_non_default_constructible) {
  cohort::scheduler s({.workers = 2, .name = "gs"});
  std::list<int> l{1, 2, 3, 4};
  auto v = cohort::gather_settled(s, l, [](int x) {
    if (x == 3) throw boom("three");
  });
  static_assert(std::is_same_v<decltype(v), std::vector<cohort::outcome<void>>>);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_TRUE(v[0].has_value());
  EXPECT_TRUE(v[1].has_value());
  EXPECT_TRUE(v[2].failed());
  EXPECT_TRUE(v[3].has_value());

#ifndef COHORT_TEST_NO_STD_VIEWS  // clang 14 + libstdc++ 12: no std::ranges::subrange
  std::istringstream in("4 5 6");
  auto nd = cohort::gather_settled(
      s, std::ranges::subrange(std::istream_iterator<int>(in), std::istream_iterator<int>()),
      [](int x) { return no_default(x); });
  ASSERT_EQ(nd.size(), 3u);
  EXPECT_EQ(nd[0].value().v, 4);
  EXPECT_EQ(nd[1].value().v, 5);
  EXPECT_EQ(nd[2].value().v, 6);
#endif
}

TEST(gather_settled_range, throws_task_cancelled_when_the_enclosing_group_is_cancelled) {
  cohort::scheduler s({.workers = 1, .name = "gsc"});
  std::atomic<bool> started{false}, threw_cancelled{false};
  std::vector<int> v(100);
  cohort::task_group g(s);
  auto stop = g.stop_token();
  auto t = g.spawn([&] {
    try {
      cohort::gather_settled(v, [&](int) {
        started = true;
        poll_until([&] { return stop.stop_requested(); });
        return 0;
      });
    } catch (const cohort::task_cancelled&) {
      threw_cancelled = true;
      throw;
    }
  });
  ASSERT_TRUE(poll_until([&] { return started.load(); }));
  g.cancel();
  g.join();
  EXPECT_TRUE(threw_cancelled.load());
  EXPECT_EQ(t.status(), cohort::task_status::cancelled);
}

}  // namespace
