// SPDX-License-Identifier: Apache-2.0
// The timer service (lib/timer.hpp) on its own: deadlines fire, in deadline order (ties
// in the order they were scheduled), a cancelled one never fires, cancel() returns only
// once a callback in flight has returned, and the service can be destroyed with
// deadlines pending. Every wait is bounded; no test asserts how late a timer fires.
#include "timer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using cohort::detail::timer_service;
using cohort_test::eventually;
using namespace std::chrono_literals;
using clock_type = timer_service::clock;

// Records which callbacks ran, in order.
struct fire_log {
  std::mutex mutex;
  std::vector<int> order;  // guarded by mutex
  std::size_t size() {
    std::lock_guard lock(mutex);
    return order.size();
  }
  std::vector<int> snapshot() {
    std::lock_guard lock(mutex);
    return order;
  }
};

// The argument of one callback: its log and its name.
struct entry {
  fire_log* log;
  int name;
  static void fire(void* arg) noexcept {
    auto* e = static_cast<entry*>(arg);
    std::lock_guard lock(e->log->mutex);
    e->log->order.push_back(e->name);
  }
};

TEST(timer, ids_are_non_zero_and_distinct) {
  timer_service timers;
  fire_log log;
  entry e{&log, 0};
  std::set<std::uint64_t> ids;
  for (int i = 0; i < 10; ++i) {
    const std::uint64_t id = timers.schedule(clock_type::now() + 1h, &entry::fire, &e);
    EXPECT_NE(id, 0u);
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 10u);
  for (std::uint64_t id : ids) timers.cancel(id);
}

TEST(timer, a_deadline_fires_once) {
  timer_service timers;
  fire_log log;
  entry e{&log, 7};
  timers.schedule(clock_type::now() + 5ms, &entry::fire, &e);
  ASSERT_TRUE(eventually([&] { return log.size() == 1; }));
  std::this_thread::sleep_for(20ms);  // room for a wrong second firing
  EXPECT_EQ(log.snapshot(), (std::vector<int>{7}));
}

TEST(timer, a_deadline_already_past_fires) {
  timer_service timers;
  fire_log log;
  entry e{&log, 1};
  timers.schedule(clock_type::now() - 1s, &entry::fire, &e);
  EXPECT_TRUE(eventually([&] { return log.size() == 1; }));
}

TEST(timer, deadlines_fire_in_deadline_order_whatever_the_schedule_order) {
  timer_service timers;
  fire_log log;
  std::vector<entry> entries;
  for (int i = 0; i < 5; ++i) entries.push_back({&log, i});
  const auto base = clock_type::now() + 100ms;
  // Scheduled latest first: each new one is the earliest and must wake the timer thread.
  for (int i = 4; i >= 0; --i) timers.schedule(base + i * 5ms, &entry::fire, &entries[i]);
  ASSERT_TRUE(eventually([&] { return log.size() == 5; }));
  EXPECT_EQ(log.snapshot(), (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(timer, equal_deadlines_fire_in_schedule_order) {
  timer_service timers;
  fire_log log;
  std::vector<entry> entries;
  for (int i = 0; i < 5; ++i) entries.push_back({&log, i});
  const auto when = clock_type::now() + 10ms;
  for (auto& e : entries) timers.schedule(when, &entry::fire, &e);
  ASSERT_TRUE(eventually([&] { return log.size() == 5; }));
  EXPECT_EQ(log.snapshot(), (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(timer, an_earlier_deadline_scheduled_later_is_not_held_up_by_a_far_one) {
  timer_service timers;
  fire_log log;
  entry far{&log, 1}, near{&log, 2};
  const std::uint64_t far_id = timers.schedule(clock_type::now() + 1h, &entry::fire, &far);
  std::this_thread::sleep_for(5ms);  // the timer thread now sleeps towards the far one
  timers.schedule(clock_type::now() + 5ms, &entry::fire, &near);
  EXPECT_TRUE(eventually([&] { return log.size() == 1; }));
  EXPECT_EQ(log.snapshot(), (std::vector<int>{2}));
  timers.cancel(far_id);
}

TEST(timer, a_cancelled_deadline_never_fires) {
  timer_service timers;
  fire_log log;
  entry cancelled{&log, 1}, kept{&log, 2};
  const auto now = clock_type::now();
  const std::uint64_t id = timers.schedule(now + 20ms, &entry::fire, &cancelled);
  timers.schedule(now + 40ms, &entry::fire, &kept);
  timers.cancel(id);
  // The kept one is due later: once it fired, the cancelled one would have fired first.
  ASSERT_TRUE(eventually([&] { return log.size() >= 1; }));
  EXPECT_EQ(log.snapshot(), (std::vector<int>{2}));
}

TEST(timer, cancelling_a_deadline_that_fired_returns_at_once) {
  timer_service timers;
  fire_log log;
  entry e{&log, 1};
  const std::uint64_t id = timers.schedule(clock_type::now(), &entry::fire, &e);
  ASSERT_TRUE(eventually([&] { return log.size() == 1; }));
  std::atomic<bool> returned{false};
  std::thread canceller([&] {
    timers.cancel(id);
    returned = true;
  });
  EXPECT_TRUE(eventually([&] { return returned.load(); })) << "cancel() hung on a past timer";
  canceller.join();
}

// cancel(id) returns only once the callback is not running: the callback may point into
// the object whose destructor cancels it (a group's deadline).
struct blocking_callback {
  std::atomic<bool> started{false};
  std::atomic<bool> release{false};
  std::atomic<bool> finished{false};
  static void fire(void* arg) noexcept {
    auto* self = static_cast<blocking_callback*>(arg);
    self->started = true;
    eventually([&] { return self->release.load(); });
    self->finished = true;
  }
};

TEST(timer, cancel_waits_for_the_callback_in_flight_to_return) {
  timer_service timers;
  blocking_callback cb;
  const std::uint64_t id = timers.schedule(clock_type::now(), &blocking_callback::fire, &cb);
  ASSERT_TRUE(eventually([&] { return cb.started.load(); }));
  std::atomic<bool> returned{false};
  std::atomic<bool> finished_before_return{false};
  std::thread canceller([&] {
    timers.cancel(id);
    finished_before_return = cb.finished.load();
    returned = true;
  });
  std::this_thread::sleep_for(50ms);  // a cancel that does not wait returns by now
  EXPECT_FALSE(returned.load()) << "cancel() returned while the callback ran";
  cb.release = true;
  ASSERT_TRUE(eventually([&] { return returned.load(); }));
  canceller.join();
  EXPECT_TRUE(finished_before_return.load());
}

TEST(timer, destroying_the_service_with_deadlines_pending_fires_none_and_returns) {
  fire_log log;
  entry e{&log, 1};
  std::atomic<bool> destroyed{false};
  std::thread owner([&] {
    {
      timer_service timers;
      timers.schedule(clock_type::now() + 1h, &entry::fire, &e);
      timers.schedule(clock_type::now() + 2h, &entry::fire, &e);
    }
    destroyed = true;
  });
  EXPECT_TRUE(eventually([&] { return destroyed.load(); })) << "~timer_service hung";
  owner.join();
  EXPECT_EQ(log.size(), 0u);
}

}  // namespace
