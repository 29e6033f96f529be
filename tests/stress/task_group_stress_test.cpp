// SPDX-License-Identifier: Apache-2.0
// task_group under load and under races looped many times: failure vs cancel, cancel vs
// completion, 10^5 children, deep nesting, outer cancels during inner joins, siblings
// spawning siblings, many threads at once.
#include <cohort/cohort.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using cohort::task_status;
using cohort_test::eventually;
using cohort_test::scaled;

using cohort_test::wait_for_stop;

TEST(task_group_stress, a_failure_racing_a_cancel_ends_consistently) {
  cohort::scheduler s({.workers = 2, .name = "race"});
  const int rounds = static_cast<int>(scaled(5'000, 2'000));
  int failed_rounds = 0;
  int cancelled_rounds = 0;
  for (int r = 0; r < rounds; ++r) {
    cohort::task_group g(s);
    auto failer = g.spawn([] { throw std::runtime_error("racing"); });
    auto bystander = g.spawn([](std::stop_token st) {
      for (int k = 0; k < 50 && !st.stop_requested(); ++k) std::this_thread::yield();
      return 1;
    });
    if (r % 2 == 0) std::this_thread::yield();
    g.cancel();
    bool threw = false;
    try {
      g.join();
    } catch (const cohort::task_group_error& e) {
      threw = true;
      ASSERT_EQ(e.exceptions().size(), 1u) << "round " << r;
      ASSERT_EQ(cohort::describe_exception(e.exceptions()[0]), "racing");
    }
    // The failer either started (then it failed, and join says so) or was skipped.
    ASSERT_TRUE(failer.done());
    if (failer.status() == task_status::failed) {
      ASSERT_TRUE(threw) << "round " << r << ": a failure was not reported";
      ++failed_rounds;
    } else {
      ASSERT_EQ(failer.status(), task_status::cancelled) << "round " << r;
      ASSERT_FALSE(threw) << "round " << r << ": reported a failure that did not happen";
      ++cancelled_rounds;
    }
    ASSERT_TRUE(bystander.status() == task_status::cancelled ||
                bystander.status() == task_status::succeeded);
  }
  RecordProperty("failed_rounds", failed_rounds);
  RecordProperty("cancelled_rounds", cancelled_rounds);
}

TEST(task_group_stress, a_cancel_racing_completion_ends_consistently) {
  cohort::scheduler s({.workers = 2, .name = "race"});
  const int rounds = static_cast<int>(scaled(10'000, 4'000));
  int succeeded = 0;
  int cancelled = 0;
  for (int r = 0; r < rounds; ++r) {
    cohort::task_group g(s);
    auto t = g.spawn([r] { return std::make_unique<int>(r); });
    for (int k = r % 8; k > 0; --k) std::this_thread::yield();
    t.cancel();
    g.join();  // a task's own cancel never makes the join throw
    ASSERT_TRUE(t.done());
    if (t.status() == task_status::succeeded) {
      ASSERT_EQ(*t.get(), r);
      ++succeeded;
    } else {
      ASSERT_EQ(t.status(), task_status::cancelled) << "round " << r;
      ASSERT_THROW(t.get(), cohort::task_cancelled);
      ++cancelled;
    }
  }
  RecordProperty("succeeded", succeeded);
  RecordProperty("cancelled", cancelled);
}

TEST(task_group_stress, a_group_cancel_racing_children_from_another_thread_ends_consistently) {
  cohort::scheduler s({.workers = 2, .name = "race"});
  const int rounds = static_cast<int>(scaled(2'000, 1'000));
  for (int r = 0; r < rounds; ++r) {
    cohort::task_group g(s);
    std::atomic<int> ran{0};
    std::vector<cohort::task<int>> tasks;
    for (int i = 0; i < 8; ++i)
      tasks.push_back(g.spawn([&ran, i] {
        ran.fetch_add(1);
        return i;
      }));
    std::thread canceller([&] { g.cancel(); });
    g.join();
    canceller.join();
    int ok = 0;
    for (int i = 0; i < 8; ++i) {
      ASSERT_TRUE(tasks[i].done());
      if (tasks[i].status() == task_status::succeeded) {
        ASSERT_EQ(tasks[i].get(), i);
        ++ok;
      } else {
        ASSERT_EQ(tasks[i].status(), task_status::cancelled);
      }
    }
    ASSERT_LE(ok, ran.load()) << "a child succeeded without running";
  }
}

TEST(task_group_stress, a_hundred_thousand_children_in_one_group) {
  cohort::scheduler s({.workers = 2, .name = "big"});
  const std::size_t n = scaled(100'000, 100'000);
  std::atomic<std::size_t> ran{0};
  {
    cohort::task_group g(s);
    for (std::size_t i = 0; i < n; ++i)
      g.spawn([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
    g.join();
  }
  EXPECT_EQ(ran.load(), n);

  // Again with every handle kept, spawned from inside the pool.
  long long sum = 0;
  {
    cohort::task_group g(s);
    std::vector<cohort::task<long long>> tasks;
    tasks.reserve(n);
    g.spawn([&] {
       for (std::size_t i = 0; i < n; ++i)
         tasks.push_back(g.spawn([i] { return static_cast<long long>(i); }));
     }).wait();
    g.join();
    for (auto& t : tasks) sum += t.get();
  }
  EXPECT_EQ(sum, static_cast<long long>(n) * static_cast<long long>(n - 1) / 2);
}

// Level d owns a group with a sibling that waits for its stop token and a child that
// recurses; level 0 fails. Records how every sibling ended.
void fail_at_the_bottom(int depth, std::vector<std::atomic<int>>& sibling_status,
                        std::vector<std::atomic<bool>>& sibling_saw_stop) {
  if (depth == 0) throw std::runtime_error("bottom");
  cohort::task_group g;
  auto sibling = g.spawn([&sibling_saw_stop, depth](std::stop_token st) {
    sibling_saw_stop[depth] = wait_for_stop(st);
  });
  g.spawn([&, depth] { fail_at_the_bottom(depth - 1, sibling_status, sibling_saw_stop); });
  struct record {
    cohort::task<void>& t;
    std::atomic<int>& out;
    ~record() { out = static_cast<int>(t.status()); }
  } rec{sibling, sibling_status[depth]};
  g.join();
}

TEST(task_group_stress, groups_nested_ten_deep_with_a_failure_at_the_bottom) {
  // Each level's sibling blocks its worker until cancelled: give every level one.
  cohort::scheduler s({.workers = 16, .name = "deep"});
  constexpr int depth = 10;
  std::vector<std::atomic<int>> sibling_status(depth + 1);
  std::vector<std::atomic<bool>> sibling_saw_stop(depth + 1);
  cohort_test::with_watchdog(
      "ten nested groups",
      [&] {
        cohort::task_group top(s);
        top.spawn([&] { fail_at_the_bottom(depth, sibling_status, sibling_saw_stop); });
        try {
          top.join();
          ADD_FAILURE() << "join returned normally";
        } catch (const cohort::task_group_error& e) {
          // depth + 1 task_group_errors wrap the original failure, one per level.
          std::exception_ptr p = std::make_exception_ptr(e);
          int levels = 0;
          for (;;) {
            try {
              std::rethrow_exception(p);
            } catch (const cohort::task_group_error& inner) {
              ASSERT_EQ(inner.exceptions().size(), 1u) << "level " << levels;
              p = inner.exceptions()[0];
              ++levels;
              continue;
            } catch (const std::runtime_error& bottom) {
              EXPECT_STREQ(bottom.what(), "bottom");
            }
            break;
          }
          EXPECT_EQ(levels, depth + 1);
          EXPECT_NE(std::string(e.what()).find("bottom"), std::string::npos) << e.what();
        }
      },
      cohort_test::patience(), [&] { return s.dump(); });
  for (int d = 1; d <= depth; ++d) {
    EXPECT_EQ(sibling_status[d].load(), static_cast<int>(task_status::cancelled)) << "level " << d;
  }
}

TEST(task_group_stress, cancelling_an_outer_group_while_inner_groups_join_ends_everything) {
  cohort::scheduler s({.workers = 3, .name = "outer"});
  const int rounds = static_cast<int>(scaled(100, 50));
  for (int r = 0; r < rounds; ++r) {
    constexpr int children = 4;
    std::atomic<int> joins_begun{0};
    std::atomic<int> joins_cancelled{0};
    std::atomic<int> joins_other{0};
    cohort_test::with_watchdog(
        "outer cancel during inner joins",
        [&] {
          cohort::task_group outer(s);
          std::vector<cohort::task<void>> tasks;
          for (int c = 0; c < children; ++c) {
            tasks.push_back(outer.spawn([&] {
              cohort::task_group inner;
              for (int k = 0; k < 3; ++k)
                inner.spawn([](std::stop_token st) { wait_for_stop(st); });
              joins_begun.fetch_add(1);
              try {
                inner.join();
                joins_other.fetch_add(1);
              } catch (const cohort::task_cancelled&) {
                joins_cancelled.fetch_add(1);
                throw;
              } catch (...) {
                joins_other.fetch_add(1);
                throw;
              }
            }));
          }
          ASSERT_TRUE(eventually([&] { return joins_begun.load() >= 1; }));
          if (r % 2) std::this_thread::sleep_for(200us);
          outer.cancel();
          EXPECT_NO_THROW(outer.join());
          for (auto& t : tasks) EXPECT_EQ(t.status(), task_status::cancelled);
        },
        cohort_test::patience(), [&] { return s.dump(); });
    EXPECT_EQ(joins_other.load(), 0) << "round " << r;
    EXPECT_EQ(joins_cancelled.load(), joins_begun.load()) << "round " << r;
  }
}

TEST(task_group_stress, siblings_spawning_siblings_with_a_failure_in_the_tree) {
  cohort::scheduler s({.workers = 2, .name = "tree"});
  const int rounds = static_cast<int>(scaled(50, 25));
  for (int r = 0; r < rounds; ++r) {
    std::atomic<int> ran{0};
    cohort::task_group g(s);
    std::function<void(int, int)> node = [&](int depth, int id) {
      ran.fetch_add(1, std::memory_order_relaxed);
      if (id == 37 + r) throw std::runtime_error("node " + std::to_string(id));
      if (depth == 0) return;
      g.spawn([&node, depth, id] { node(depth - 1, 2 * id); });
      g.spawn([&node, depth, id] { node(depth - 1, 2 * id + 1); });
    };
    g.spawn([&node] { node(9, 1); });
    try {
      g.join();
      ADD_FAILURE() << "round " << r << ": join returned normally";
    } catch (const cohort::task_group_error& e) {
      ASSERT_EQ(e.exceptions().size(), 1u);
      EXPECT_EQ(cohort::describe_exception(e.exceptions()[0]), "node " + std::to_string(37 + r));
    }
    EXPECT_GE(ran.load(), 1);
  }
}

TEST(task_group_stress, many_threads_and_workers_using_groups_at_once) {
  cohort::scheduler s({.workers = 2, .name = "mix"});
  constexpr int threads_n = 3;
  const int rounds = static_cast<int>(scaled(200, 100));
  std::atomic<long> total{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_n; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        cohort::task_group g(s, {.max_concurrency = static_cast<std::size_t>(r % 3)});
        for (int i = 0; i < 10; ++i) {
          g.spawn([&total, i] {
            cohort::task_group inner;
            for (int k = 0; k < 5; ++k)
              inner.spawn([&total] { total.fetch_add(1, std::memory_order_relaxed); });
            if (i == 3)
              inner.spawn([](std::stop_token st) {
                for (int k = 0; k < 10 && !st.stop_requested(); ++k) std::this_thread::yield();
              });
            inner.join();
          });
        }
        if ((r + t) % 5 == 0) {
          g.cancel();
          g.join();
        } else {
          g.join();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GT(total.load(), 0);
  EXPECT_LE(total.load(), static_cast<long>(threads_n) * rounds * 10 * 5);
}

TEST(task_group_stress, the_owner_setting_a_deadline_while_children_spawn_siblings) {
  // The owner may call cancel_after while the group's children spawn into it (both are
  // allowed users of a group that is not joined). Under ThreadSanitizer this must be
  // race-free; everywhere, every child must end and the join must return.
  cohort::scheduler s({.workers = 2, .name = "dl"});
  const int rounds = static_cast<int>(scaled(200, 50));
  for (int r = 0; r < rounds; ++r) {
    cohort::task_group g(s);
    std::atomic<int> ran{0};
    for (int c = 0; c < 2; ++c) {
      g.spawn([&] {
        for (int i = 0; i < 20; ++i)
          g.spawn([&ran] { ran.fetch_add(1, std::memory_order_relaxed); });
      });
    }
    for (int k = 0; k < 5; ++k) g.cancel_after(std::chrono::seconds(30 + k));
    EXPECT_NO_THROW(g.join());
    EXPECT_EQ(ran.load(), 40);
  }
}

TEST(task_group_stress, results_of_dropped_handles_are_destroyed_exactly_once) {
  struct counted {
    std::atomic<long>* live;
    explicit counted(std::atomic<long>* l) : live(l) { live->fetch_add(1); }
    counted(counted&& o) noexcept : live(o.live) { live->fetch_add(1); }
    ~counted() { live->fetch_sub(1); }
  };
  cohort::scheduler s({.workers = 2, .name = "drop"});
  auto live = std::make_unique<std::atomic<long>>(0);
  const int n = static_cast<int>(scaled(20'000, 10'000));
  {
    cohort::task_group g(s);
    for (int i = 0; i < n; ++i) {
      auto t = g.spawn([l = live.get()] { return counted(l); });
      if (i % 3 == 0) t.cancel();
    }
    g.join();
  }
  // The last results may still be in destruction on a worker (see
  // task_group.join_returns_only_after_the_results_of_dropped_handles_are_destroyed);
  // here only "exactly once" is checked.
  EXPECT_TRUE(eventually([&] { return live->load() == 0; })) << live->load() << " results alive";
}

}  // namespace
