// SPDX-License-Identifier: Apache-2.0
// The structured semantics of the parallel algorithms: failures in index order and named
// "name[index]", keep_going, early stop after the first failure, stop tokens of running
// bodies, deadlines, cancellation from outside, nested loops, determinism.
#include <cohort/algorithm.hpp>
#include <cohort/scheduler.hpp>
#include <cohort/task_group.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <exception>
#include <functional>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using cohort_test::boom;
using cohort_test::poll_until;
using cohort_test::scaled;

TEST(algorithm_failure, every_failure_in_index_order_with_keep_going) {
  cohort::scheduler s({.workers = 3, .name = "fail"});
  const std::size_t n = scaled(100'000, 10'000);
  std::atomic<std::size_t> ran{0};
  try {
    cohort::for_each_index(s, std::size_t{0}, n,
                           [&](std::size_t i) {
                             ran.fetch_add(1, std::memory_order_relaxed);
                             if (i % 1000 == 17) throw boom("bad " + std::to_string(i));
                           },
                           {.on_failure = cohort::failure_policy::keep_going, .name = "rows"});
    FAIL() << "no exception";
  } catch (const cohort::task_group_error& e) {
    EXPECT_EQ(ran.load(), n);  // keep_going: every element ran
    ASSERT_EQ(e.exceptions().size(), n / 1000);
    ASSERT_EQ(e.names().size(), n / 1000);
    for (std::size_t k = 0; k < n / 1000; ++k) {
      const std::size_t index = k * 1000 + 17;
      EXPECT_EQ(e.names()[k], "rows[" + std::to_string(index) + "]");
      EXPECT_EQ(cohort_test::what_of(e.exceptions()[k]), "bad " + std::to_string(index));
    }
    EXPECT_EQ(std::string(e.what()), std::to_string(n / 1000) + " of " + std::to_string(n) +
                                         " elements failed; first: rows[17]: bad 17");
  }
}

TEST(algorithm_failure, an_index_loop_names_failures_by_the_index_not_the_position) {
  cohort::scheduler s({.workers = 2, .name = "fail"});
  auto names_of = [&](auto first, auto last, auto bad) {
    try {
      cohort::for_each_index(s, first, last,
                             [&](auto i) {
                               if (i == bad) throw boom("bad");
                             },
                             {.name = "rows"});
    } catch (const cohort::task_group_error& e) {
      return std::vector<std::string>(e.names().begin(), e.names().end());
    }
    return std::vector<std::string>{};
  };
  EXPECT_EQ(names_of(100, 200, 150), (std::vector<std::string>{"rows[150]"}));
  EXPECT_EQ(names_of(-5, 5, -3), (std::vector<std::string>{"rows[-3]"}));
}

TEST(algorithm_failure,
     chunk_failures_are_named_by_the_chunks_first_index_and_keep_going_runs_all) {
  cohort::scheduler s({.workers = 2, .name = "fail"});
  std::vector<std::atomic<int>> hits(100);
  try {
    cohort::for_each_chunk(
        s, 0, 100,
        [&](int lo, int hi) {
          for (int i = lo; i < hi; ++i) ++hits[static_cast<std::size_t>(i)];
          if (lo <= 30 && 30 < hi) throw boom("thirty");
          if (lo <= 60 && 60 < hi) throw boom("sixty");
        },
        {.grain = 10, .on_failure = cohort::failure_policy::keep_going, .name = "c"});
    FAIL() << "no exception";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.exceptions().size(), 2u);
    EXPECT_EQ(cohort_test::what_of(e.exceptions()[0]), "thirty");
    EXPECT_EQ(cohort_test::what_of(e.exceptions()[1]), "sixty");
    EXPECT_EQ(e.names()[0].rfind("c[", 0), 0u);
  }
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
}

TEST(task_group_error_names, a_groups_error_names_each_failed_child_in_spawn_order) {
  cohort::scheduler s({.workers = 2, .name = "names"});
  cohort::task_group g(s, {.on_failure = cohort::failure_policy::keep_going});
  g.spawn([] { throw boom("a"); }, {.name = "fetch-1"});
  g.spawn([] {}, {.name = "ok"});
  g.spawn([] { throw boom("b"); });  // unnamed
  g.spawn([] { throw boom("c"); }, {.name = "fetch-3"});
  try {
    g.join();
    FAIL() << "no exception";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.names().size(), 3u);
    EXPECT_EQ(e.names()[0], "fetch-1");
    EXPECT_EQ(e.names()[1], "");
    EXPECT_EQ(e.names()[2], "fetch-3");
    EXPECT_STREQ(e.what(), "3 of 4 tasks failed; first: fetch-1: a");
  }
}

TEST(algorithm_failure, unnamed_loop_names_failures_by_index_alone) {
  cohort::scheduler s({.workers = 2, .name = "fail"});
  std::vector<int> v(100, 0);
  try {
    cohort::for_each(s, v, [](int&) { throw boom("x"); },
                     {.on_failure = cohort::failure_policy::keep_going});
    FAIL() << "no exception";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.names().size(), 100u);
    EXPECT_EQ(e.names()[0], "[0]");
    EXPECT_EQ(e.names()[99], "[99]");
    EXPECT_STREQ(e.what(), "100 of 100 elements failed; first: [0]: x");
  }
}

// Counts the elements that started after the loop was cancelled by the failure, which a
// body sees through its stop token (requested only after the loop's cancel flag is set,
// so a leaf that saw it stops at its next stride). Every element after the failing one
// waits for that cancel (bounded) before it counts: which elements ran before the failure
// no longer depends on timing (a preempted thrower once let the other worker run most of
// the loop first), and every element the loop starts after the failure is counted.
TEST(algorithm_failure, first_failure_stops_starting_elements) {
  constexpr std::size_t workers = 2;
  cohort::scheduler s({.workers = workers, .name = "fail"});
  const std::size_t n = scaled(1'000'000, 50'000);
  constexpr std::size_t failing = 5;
  std::atomic<std::size_t> ran_after_failure{0};
  std::atomic<bool> gave_up_waiting{false};  // one bounded wait for all: if the cancel
                                             // never comes, the rest do not wait again
  try {
    cohort::for_each_index(s, std::size_t{0}, n,
                           [&](std::size_t i, std::stop_token st) {
                             if (i < failing) return;  // before the failure, on its leaf
                             if (i == failing) throw boom("early");
                             if (!gave_up_waiting.load(std::memory_order_relaxed) &&
                                 !poll_until([&] { return st.stop_requested(); }))
                               gave_up_waiting.store(true, std::memory_order_relaxed);
                             ran_after_failure.fetch_add(1, std::memory_order_relaxed);
                           },
                           {.name = "rows"});
    ADD_FAILURE() << "no exception";
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.names().size(), 1u);
    EXPECT_EQ(e.names()[0], "rows[5]");
  }
  EXPECT_FALSE(gave_up_waiting.load()) << "the failure never requested the stop tokens";
  // Each leaf running when the loop was cancelled may finish its current stride of
  // cancel_check_stride (64) elements; no other element may start.
  EXPECT_LE(ran_after_failure.load(), workers * 64)
      << "the loop kept starting elements after the failure";
}

TEST(algorithm_failure, failure_requests_the_stop_token_of_running_bodies) {
  cohort::scheduler s({.workers = 3, .name = "fail"});
  std::atomic<int> waiting{0}, saw_stop{0};
  EXPECT_THROW(cohort::for_each_index(s, 0, 3,
                                      [&](int i, std::stop_token st) {
                                        if (i == 0) {
                                          // fail only once the others are running
                                          poll_until([&] { return waiting.load() == 2; });
                                          throw boom("first");
                                        }
                                        ++waiting;
                                        if (poll_until([&] { return st.stop_requested(); }))
                                          ++saw_stop;
                                      },
                                      {.grain = 1}),
               cohort::task_group_error);
  EXPECT_EQ(saw_stop.load(), 2);
}

TEST(algorithm_failure, reduce_scan_sort_and_find_report_failures_by_index) {
  cohort::scheduler s({.workers = 2, .name = "fail"});
  std::vector<int> v(5000);
  std::iota(v.begin(), v.end(), 0);
  auto throwing_map = [](int x) -> long {
    if (x == 1234) throw boom("map");
    return x;
  };
  try {
    cohort::transform_reduce(s, v, 0L, std::plus<>{}, throwing_map, {.name = "sum"});
    FAIL();
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.names().size(), 1u);
    EXPECT_EQ(e.names()[0], "sum[1234]");
  }
  std::vector<int> out(v.size());
  auto throwing_op = [](int a, int b) {
    if (b == 4000) throw boom("op");
    return a + b;
  };
  EXPECT_THROW(cohort::inclusive_scan(s, v, out.begin(), throwing_op), cohort::task_group_error);
  EXPECT_THROW(cohort::find_if(s, v,
                               [](int x) {
                                 if (x == 3) throw boom("pred");  // always runs: it is
                                 return x == 4000;  // before the match, which may come first
                               }),
               cohort::task_group_error);
  auto throwing_less = [](int a, int b) {
    if (a == 77 || b == 77) throw boom("cmp");
    return a < b;
  };
  EXPECT_THROW(cohort::sort(s, v, throwing_less), cohort::task_group_error);
}

// reduce's last combine, op(init, everything), runs after the pieces joined; a failure in
// it is one of the loop's like any other: one task_group_error naming "name[0]" (a
// combine is named by the first index of its right part, here the whole range). The
// exclusive scan's op(init, x0) is element 0's: the same report.
TEST(algorithm_failure, a_failure_of_the_init_combine_is_reported_like_any_other) {
  struct not_a_std_exception {
    int code;
  };
  constexpr long init_marker = -1;  // the elements are positive: only init is negative
  cohort::scheduler s({.workers = 2, .name = "fail"});
  std::vector<long> v(scaled(100'003, 10'007));
  std::iota(v.begin(), v.end(), 1L);
  const std::string n = std::to_string(v.size());
  auto fails_on_init = [](bool std_exception) {
    return [std_exception](long a, long b) -> long {
      if (a == init_marker) {
        if (std_exception) throw boom("init combine");
        throw not_a_std_exception{7};
      }
      return a + b;
    };
  };
  auto twice = [](long x) { return 2 * x; };
  std::vector<long> out(v.size());
  for (const auto policy :
       {cohort::failure_policy::cancel_siblings, cohort::failure_policy::keep_going}) {
    for (const auto split : {cohort::partition::adaptive, cohort::partition::static_split,
                             cohort::partition::deterministic}) {
      for (const bool with_timeout : {false, true}) {
        cohort::loop_options o{.split = split, .on_failure = policy, .name = "sum"};
        if (with_timeout) o.timeout = std::chrono::nanoseconds(10s);
        const std::string where = "policy " + std::to_string(static_cast<int>(policy)) +
                                  ", split " + std::to_string(static_cast<int>(split)) +
                                  (with_timeout ? ", timeout" : "");
        for (const bool std_exception : {true, false}) {
          for (const char* algorithm : {"reduce", "transform_reduce", "exclusive_scan"}) {
            SCOPED_TRACE(where + (std_exception ? ", std, " : ", non-std, ") + algorithm);
            const std::string_view which = algorithm;
            try {
              if (which == "reduce") {
                cohort::reduce(s, v, init_marker, fails_on_init(std_exception), o);
              } else if (which == "transform_reduce") {
                cohort::transform_reduce(s, v, init_marker, fails_on_init(std_exception), twice, o);
              } else {  // its op(init, x0) runs inside the loop: the same report
                cohort::exclusive_scan(s, v, out.begin(), init_marker, fails_on_init(std_exception),
                                       o);
              }
              ADD_FAILURE() << "no exception";
            } catch (const cohort::task_group_error& e) {
              ASSERT_EQ(e.exceptions().size(), 1u);
              ASSERT_EQ(e.names().size(), 1u);
              EXPECT_EQ(e.names()[0], "sum[0]");
              if (std_exception) {
                EXPECT_EQ(cohort_test::what_of(e.exceptions()[0]), "init combine");
                EXPECT_EQ(std::string(e.what()), "1 of " + n +
                                                     " elements failed; first: sum[0]: "
                                                     "init combine");
              } else {
                EXPECT_EQ(std::string(e.what()),
                          "1 of " + n +
                              " elements failed; first: sum[0]: an exception not "
                              "derived from std::exception");
                try {
                  std::rethrow_exception(e.exceptions()[0]);
                } catch (const not_a_std_exception& x) {
                  EXPECT_EQ(x.code, 7);
                } catch (...) {
                  ADD_FAILURE() << "the original exception was not kept";
                }
              }
            } catch (...) {
              ADD_FAILURE() << "the init combine's exception escaped raw: "
                            << cohort::describe_exception(std::current_exception());
            }
          }
        }
      }
    }
  }
  // A task_cancelled thrown by the init combine is a cancel, as from any element.
  EXPECT_THROW(cohort::reduce(s, v, init_marker,
                              [](long a, long b) -> long {
                                if (a == init_marker) throw cohort::task_cancelled();
                                return a + b;
                              }),
               cohort::task_cancelled);
  // The combine that succeeds still gives the sum, init included.
  const long total = static_cast<long>(v.size()) * (static_cast<long>(v.size()) + 1) / 2;
  EXPECT_EQ(cohort::reduce(s, v, init_marker, std::plus<>{}), total - 1);
}

TEST(algorithm_failure, element_throwing_task_cancelled_is_not_a_failure) {
  cohort::scheduler s({.workers = 2, .name = "fail"});
  EXPECT_THROW(cohort::for_each_index(s, 0, 100,
                                      [](int i) {
                                        if (i == 50) throw cohort::task_cancelled();
                                      }),
               cohort::task_cancelled);
}

TEST(algorithm_deadline, timeout_stops_the_loop_and_throws_timeout_error) {
  cohort::scheduler s({.workers = 2, .name = "dl"});
  std::atomic<int> saw_stop{0};
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(cohort::for_each_index(s, 0, 1'000'000,
                                      [&](int, std::stop_token st) {
                                        if (poll_until([&] { return st.stop_requested(); }))
                                          ++saw_stop;
                                      },
                                      {.timeout = 50ms}),
               cohort::timeout_error);
  EXPECT_GE(saw_stop.load(), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, cohort_test::patience());
}

TEST(algorithm_deadline, a_failure_wins_over_the_deadline) {
  cohort::scheduler s({.workers = 2, .name = "dl"});
  EXPECT_THROW(cohort::for_each_index(s, 0, 4,
                                      [&](int i, std::stop_token st) {
                                        if (i == 0) throw boom("x");
                                        poll_until([&] { return st.stop_requested(); });
                                      },
                                      {.grain = 1, .timeout = 10s}),
               cohort::task_group_error);
}

TEST(algorithm_deadline, a_deadline_that_passes_after_the_loop_ended_changes_nothing) {
  cohort::scheduler s({.workers = 2, .name = "dl"});
  std::vector<int> v(1000, 1);
  EXPECT_EQ(cohort::reduce(s, v, 0, std::plus<>{}, {.timeout = 10s}), 1000);
  // The last element waits out the deadline, then returns: every element ran. The
  // deadline leaves the element time to start on a loaded machine (with 1 ms it once
  // passed before the element began, which is a timeout, not this case).
  std::atomic<int> ran{0};
  EXPECT_NO_THROW(cohort::for_each_index(s, 0, 1,
                                         [&](int) {
                                           std::this_thread::sleep_for(600ms);
                                           ++ran;
                                         },
                                         {.timeout = 300ms}));
  EXPECT_EQ(ran.load(), 1);
}

TEST(algorithm_cancel, outer_cancel_stops_the_loop_and_it_throws_task_cancelled) {
  cohort::scheduler s({.workers = 3, .name = "oc"});
  std::atomic<int> started{0};
  std::atomic<bool> threw_cancelled{false};
  cohort::task_group g(s);
  g.spawn([&] {
    try {
      cohort::for_each_index(0, 1'000'000, [&](int, std::stop_token st) {
        ++started;
        poll_until([&] { return st.stop_requested(); });
      });
    } catch (const cohort::task_cancelled&) {
      threw_cancelled = true;
      throw;
    }
  });
  ASSERT_TRUE(poll_until([&] { return started.load() >= 1; }));
  g.cancel();
  EXPECT_NO_THROW(g.join());
  EXPECT_TRUE(threw_cancelled.load());
  EXPECT_LT(started.load(), 1000);
}

TEST(algorithm_cancel, loop_in_an_already_cancelled_task_runs_nothing) {
  cohort::scheduler s({.workers = 2, .name = "oc"});
  std::atomic<int> ran{0};
  std::atomic<bool> threw_cancelled{false};
  cohort::task_group g(s);
  cohort_test::gate started;
  g.spawn([&](std::stop_token st) {
    started.open();
    poll_until([&] { return st.stop_requested(); });
    try {
      cohort::for_each_index(0, 1000, [&](int) { ++ran; });
    } catch (const cohort::task_cancelled&) {
      threw_cancelled = true;
    }
  });
  ASSERT_TRUE(started.wait());
  g.cancel();
  g.join();
  EXPECT_EQ(ran.load(), 0);
  EXPECT_TRUE(threw_cancelled.load());
}

TEST(algorithm_nesting, nested_loops_on_one_worker_do_not_deadlock) {
  cohort::scheduler s({.workers = 1, .name = "nest"});
  const int outer = 50, inner = 2000;
  std::atomic<long> total{0};
  cohort_test::with_watchdog("nested loops on one worker", [&] {
    cohort::for_each_index(s, 0, outer, [&](int) {
      const long part = cohort::reduce(std::vector<int>(inner, 1), 0L);
      cohort::for_each_index(0, 10, [&](int) {
        std::vector<int> v(100);
        std::iota(v.begin(), v.end(), 0);
        cohort::sort(v, std::greater<>{});
      });
      total += part;
    });
  });
  EXPECT_EQ(total.load(), long{outer} * inner);
}

TEST(algorithm_nesting, nested_loops_on_several_workers_and_inside_tasks) {
  cohort::scheduler s({.workers = 3, .name = "nest"});
  std::atomic<long> total{0};
  cohort_test::with_watchdog("nested loops in tasks", [&] {
    cohort::task_group g(s);
    for (int t = 0; t < 4; ++t)
      g.spawn([&] {
        cohort::for_each_index(0, 40, [&](int) {
          cohort::for_each_index(0, 40, [&](int) { total.fetch_add(1, std::memory_order_relaxed); },
                                 {.grain = 3});
        });
      });
    g.join();
  });
  EXPECT_EQ(total.load(), 4 * 40 * 40);
}

TEST(algorithm_nesting, inner_failure_fails_the_outer_element) {
  cohort::scheduler s({.workers = 2, .name = "nest"});
  try {
    cohort::for_each_index(s, 0, 4,
                           [](int i) {
                             cohort::for_each_index(0, 10, [i](int j) {
                               if (i == 2 && j == 3) throw boom("inner");
                             });
                           },
                           {.grain = 1, .name = "outer"});
    FAIL();
  } catch (const cohort::task_group_error& e) {
    ASSERT_EQ(e.names().size(), 1u);
    EXPECT_EQ(e.names()[0], "outer[2]");
  }
}

// The deterministic partition's results have the same bits for 1..4 workers.
TEST(algorithm_determinism, reduce_and_scans_are_bit_identical_for_every_worker_count) {
  const std::size_t n = scaled(1'000'003, 50'021);
  std::vector<double> v(n);
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> dist(-1e6, 1e6);
  for (auto& x : v) x = dist(rng) * std::pow(10.0, static_cast<int>(rng() % 12) - 6);
  const cohort::loop_options det{.split = cohort::partition::deterministic};
  double first_sum = 0, first_sq = 0;
  std::vector<double> first_incl, first_excl;
  for (std::size_t workers = 1; workers <= 4; ++workers) {
    cohort::scheduler s({.workers = workers, .name = "det"});
    for (int run = 0; run < 2; ++run) {
      const double sum = cohort::reduce(s, v, 0.0, std::plus<>{}, det);
      const double sq = cohort::transform_reduce(
          s, v, 0.0, std::plus<>{}, [](double x) { return x * x; }, det);
      std::vector<double> incl(n), excl(n);
      cohort::inclusive_scan(s, v, incl.begin(), std::plus<>{}, det);
      cohort::exclusive_scan(s, v, excl.begin(), 0.5, std::plus<>{}, det);
      if (workers == 1 && run == 0) {
        first_sum = sum;
        first_sq = sq;
        first_incl = std::move(incl);
        first_excl = std::move(excl);
        continue;
      }
      EXPECT_EQ(std::memcmp(&sum, &first_sum, sizeof sum), 0) << workers << " workers";
      EXPECT_EQ(std::memcmp(&sq, &first_sq, sizeof sq), 0) << workers << " workers";
      EXPECT_TRUE(incl == first_incl) << workers << " workers";
      EXPECT_TRUE(excl == first_excl) << workers << " workers";
    }
  }
}

}  // namespace
