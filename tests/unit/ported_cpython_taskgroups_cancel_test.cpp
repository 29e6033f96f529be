// SPDX-License-Identifier: Apache-2.0
// CPython's asyncio TaskGroup tests, part 2: the ones where the runner task is cancelled
// from outside (the originals' `r.cancel()`). Part 1, ported_cpython_taskgroups_test.cpp,
// has the rest and the notes on how asyncio maps to cohort (read them first).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <vector>

#include "ported_support.hpp"

namespace {

using namespace std::chrono_literals;
using ported::sleep_or_cancelled;
using ported::sleep_until_cancelled;

cohort::scheduler_options pool_options() {
  return {.workers = 2, .name = "cpy-tg"};
}

// The shape of the originals' `r = create_task(runner()); sleep(0.1); r.cancel(); await r`:
// runs runner(stop_token) as a child, cancels it after `delay` (and once ready() holds:
// asyncio starts every task before the cancel; cohort skips children not started yet, so
// the ports wait until the ones the original counts have started), and returns its
// handle once it ended (its failure, if any, stays in the handle).
template <class Runner>
cohort::task<void> run_and_cancel(cohort::scheduler& pool, Runner runner,
                                  std::chrono::milliseconds delay = 10ms,
                                  std::function<bool()> ready = {}) {
  cohort::task_group outer(pool);
  auto r = outer.spawn([&](std::stop_token st) { runner(st); });
  std::this_thread::sleep_for(delay);
  if (ready) {
    EXPECT_TRUE(cohort_test::eventually(ready));
  }
  EXPECT_FALSE(r.done());  // self.assertFalse(r.done())
  r.cancel();
  try {
    outer.join();
  } catch (const cohort::task_group_error&) {
  }
  return r;
}

// Ports test_cancellation: cancelling the runner cancels its five children.
TEST(cpython_taskgroups, test_cancellation) {
  cohort::scheduler pool({.workers = 7, .name = "cpy-tg"});
  std::atomic<int> num{0}, started{0};
  auto r = run_and_cancel(
      pool,
      [&](std::stop_token) {
        cohort::scope(pool, [&](cohort::task_group& g) {
          for (int i = 0; i < 5; ++i)
            g.spawn([&](std::stop_token st) {
              ++started;
              try {
                sleep_or_cancelled(st, 5000ms);
              } catch (const cohort::task_cancelled&) {
                num += 1;
                throw;
              }
            });
        });
      },
      10ms, [&] { return started.load() == 5; });
  EXPECT_EQ(r.status(), cohort::task_status::cancelled);
  EXPECT_THROW(r.get(), cohort::task_cancelled);
  EXPECT_EQ(num.load(), 5);
}

// Ports test_taskgroup_07: the body's own sleep sees the runner's cancel too.
TEST(cpython_taskgroups, test_taskgroup_07) {
  cohort::scheduler pool({.workers = 7, .name = "cpy-tg"});
  std::atomic<int> num{0}, started{0};
  auto r = run_and_cancel(
      pool,
      [&](std::stop_token runner_st) {
        cohort::scope(pool, [&](cohort::task_group& g) {
          for (int i = 0; i < 5; ++i)
            g.spawn([&](std::stop_token st) {
              ++started;
              try {
                sleep_or_cancelled(st, 5000ms);
              } catch (const cohort::task_cancelled&) {
                num += 1;
                throw;
              }
            });
          try {
            sleep_or_cancelled(runner_st, 10000ms);
          } catch (const cohort::task_cancelled&) {
            num += 10;
            throw;
          }
        });
      },
      10ms, [&] { return started.load() == 5; });
  EXPECT_EQ(r.status(), cohort::task_status::cancelled);
  EXPECT_EQ(num.load(), 15);
}

// Ports test_cancellation_in_body: the runner is cancelled while children would fail
// later: it ends cancelled (children observed the cancel before failing).
TEST(cpython_taskgroups, test_cancellation_in_body) {
  cohort::scheduler pool(pool_options());
  auto r = run_and_cancel(pool, [&](std::stop_token runner_st) {
    cohort::scope(pool, [&](cohort::task_group& g) {
      for (int i = 0; i < 5; ++i)
        g.spawn([](std::stop_token st) {
          sleep_or_cancelled(st, 200ms);
          throw ported::zero_division();
        });
      sleep_or_cancelled(runner_st, 10000ms);
    });
  });
  EXPECT_EQ(r.status(), cohort::task_status::cancelled);
}

// Ports test_taskgroup_11: cancel reaches a group nested in a group of the runner.
TEST(cpython_taskgroups, test_taskgroup_11) {
  cohort::scheduler pool(pool_options());
  auto r = run_and_cancel(pool, [&](std::stop_token runner_st) {
    cohort::scope(pool, [&](cohort::task_group&) {
      cohort::scope(pool, [&](cohort::task_group& g2) {
        for (int i = 0; i < 5; ++i)
          g2.spawn([](std::stop_token st) {
            sleep_or_cancelled(st, 200ms);
            throw ported::zero_division();
          });
        sleep_or_cancelled(runner_st, 10000ms);
      });
    });
  });
  EXPECT_EQ(r.status(), cohort::task_status::cancelled);
}

// Ports test_taskgroup_12: the same with a long child in the outer group.
TEST(cpython_taskgroups, test_taskgroup_12) {
  cohort::scheduler pool(pool_options());
  auto r = run_and_cancel(pool, [&](std::stop_token runner_st) {
    cohort::scope(pool, [&](cohort::task_group& g1) {
      g1.spawn([](std::stop_token st) { sleep_or_cancelled(st, 10000ms); });
      cohort::scope(pool, [&](cohort::task_group& g2) {
        for (int i = 0; i < 5; ++i)
          g2.spawn([](std::stop_token st) {
            sleep_or_cancelled(st, 200ms);
            throw ported::zero_division();
          });
        sleep_or_cancelled(runner_st, 10000ms);
      });
    });
  });
  EXPECT_EQ(r.status(), cohort::task_status::cancelled);
}

// Ports test_taskgroup_15: the body sleeps a while after seeing the cancel, then rethrows;
// the child that would crash later is cancelled; the runner ends cancelled.
TEST(cpython_taskgroups, test_taskgroup_15) {
  cohort::scheduler pool(pool_options());
  auto r = run_and_cancel(pool, [&](std::stop_token runner_st) {
    cohort::scope(pool, [&](cohort::task_group& g1) {
      g1.spawn([](std::stop_token st) {
        sleep_or_cancelled(st, 300ms);
        throw ported::zero_division();
      });
      try {
        sleep_or_cancelled(runner_st, 10000ms);
      } catch (const cohort::task_cancelled&) {
        std::this_thread::sleep_for(50ms);
        throw;
      }
    });
  });
  EXPECT_EQ(r.status(), cohort::task_status::cancelled);
}

// Ports test_taskgroup_16: the same one task deeper (the runner awaits a nested runner).
TEST(cpython_taskgroups, test_taskgroup_16) {
  cohort::scheduler pool(pool_options());
  auto r = run_and_cancel(pool, [&](std::stop_token) {
    cohort::task_group inner(pool);
    auto t = inner.spawn([&](std::stop_token nested_st) {
      cohort::scope(pool, [&](cohort::task_group& g1) {
        g1.spawn([](std::stop_token st) {
          sleep_or_cancelled(st, 300ms);
          throw ported::zero_division();
        });
        try {
          sleep_or_cancelled(nested_st, 10000ms);
        } catch (const cohort::task_cancelled&) {
          std::this_thread::sleep_for(50ms);
          throw;
        }
      });
    });
    inner.join();
  });
  EXPECT_EQ(r.status(), cohort::task_status::cancelled);
}

// Ports test_taskgroup_17: an empty group whose body is cancelled.
TEST(cpython_taskgroups, test_taskgroup_17) {
  cohort::scheduler pool(pool_options());
  std::atomic<int> num{0};
  auto r = run_and_cancel(pool, [&](std::stop_token runner_st) {
    cohort::scope(pool, [&](cohort::task_group&) {
      try {
        sleep_or_cancelled(runner_st, 10000ms);
      } catch (const cohort::task_cancelled&) {
        num += 10;
        throw;
      }
    });
  });
  EXPECT_EQ(r.status(), cohort::task_status::cancelled);
  EXPECT_EQ(num.load(), 10);
}

// Ports test_taskgroup_18: the body answers the cancel with MyExc: the runner fails with
// MyExc itself (asyncio: an ExceptionGroup of it).
TEST(cpython_taskgroups, test_taskgroup_18) {
  cohort::scheduler pool(pool_options());
  std::atomic<int> num{0};
  auto r = run_and_cancel(pool, [&](std::stop_token runner_st) {
    cohort::scope(pool, [&](cohort::task_group&) {
      try {
        sleep_or_cancelled(runner_st, 10000ms);
      } catch (const cohort::task_cancelled&) {
        num += 10;
        throw ported::my_exc();
      }
    });
  });
  EXPECT_EQ(r.status(), cohort::task_status::failed);
  EXPECT_TRUE(ported::holds<ported::my_exc>(r.exception()));
  EXPECT_EQ(num.load(), 10);
}

// Ports test_taskgroup_22: cancelling the runner while its two children sleep.
TEST(cpython_taskgroups, test_taskgroup_22) {
  cohort::scheduler pool(pool_options());
  auto r = run_and_cancel(
      pool,
      [&](std::stop_token) {
        cohort::scope(pool, [](cohort::task_group& g) {
          g.spawn([](std::stop_token st) {
            sleep_or_cancelled(st, 1000ms);
            return 42;
          });
          g.spawn([](std::stop_token st) {
            sleep_or_cancelled(st, 2000ms);
            return 11;
          });
        });
      },
      5ms);
  EXPECT_EQ(r.status(), cohort::task_status::cancelled);
}

}  // namespace
