// SPDX-License-Identifier: Apache-2.0
// The parking lot (lib/parking_lot.hpp): waiters parked by the address of what they wait
// for, woken by that address only, each exactly once; a waiter that gives up (its
// timeout) leaves and is never woken afterwards; and the announce/re-check protocol
// loses no wake-up when completion races with parking.
#include "parking_lot.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using cohort::detail::park_record;
using cohort::detail::park_records;
using cohort::detail::parking_lot;
using cohort_test::eventually;

// A record that counts its wake-ups (the wake callback runs under the bucket lock).
struct counting_record : park_record {
  std::atomic<int> wakes{0};
  counting_record() {
    wake = [](park_record* r) noexcept {
      static_cast<counting_record*>(r)->wakes.fetch_add(1, std::memory_order_release);
    };
  }
};

bool still_waiting() {
  return true;
}

TEST(parking_lot, a_done_announcement_parks_nothing) {
  int key = 0;
  counting_record r;
  EXPECT_FALSE(parking_lot::enter(&key, r, [] { return false; }));
  EXPECT_FALSE(r.queued);
  parking_lot::unpark_all(&key);
  EXPECT_EQ(r.wakes.load(), 0);
}

TEST(parking_lot, unpark_wakes_a_parked_record_once_and_unlinks_it) {
  int key = 0;
  counting_record r;
  ASSERT_TRUE(parking_lot::enter(&key, r, still_waiting));
  EXPECT_TRUE(r.queued);
  parking_lot::unpark_all(&key);
  EXPECT_EQ(r.wakes.load(), 1);
  EXPECT_FALSE(r.queued);
  EXPECT_TRUE(parking_lot::leave(r)) << "leave() must report that a waker unlinked it";
  parking_lot::unpark_all(&key);
  EXPECT_EQ(r.wakes.load(), 1) << "woken twice";
}

TEST(parking_lot, a_waiter_that_times_out_leaves_and_is_never_woken_after) {
  int key = 0;
  counting_record r;
  ASSERT_TRUE(parking_lot::enter(&key, r, still_waiting));
  EXPECT_FALSE(parking_lot::leave(r)) << "nobody woke it, yet leave() says woken";
  EXPECT_FALSE(r.queued);
  // The record may be gone now (its waiter returned): a late completer must not touch it.
  parking_lot::unpark_all(&key);
  EXPECT_EQ(r.wakes.load(), 0);
}

TEST(parking_lot, every_record_on_a_key_is_woken) {
  int key = 0;
  std::vector<counting_record> records(5);
  for (auto& r : records) ASSERT_TRUE(parking_lot::enter(&key, r, still_waiting));
  // The middle one gives up first: unlinking from the middle keeps the others linked.
  EXPECT_FALSE(parking_lot::leave(records[2]));
  parking_lot::unpark_all(&key);
  for (std::size_t i = 0; i < records.size(); ++i)
    EXPECT_EQ(records[i].wakes.load(), i == 2 ? 0 : 1) << "record " << i;
}

TEST(parking_lot, unpark_wakes_only_the_records_of_its_key_even_in_a_shared_bucket) {
  // More keys than buckets (256): many share a bucket, so a wake by bucket instead of by
  // key would wake strangers.
  constexpr std::size_t keys = 1024;
  std::vector<int> words(keys);
  std::vector<counting_record> records(keys);
  for (std::size_t i = 0; i < keys; ++i)
    ASSERT_TRUE(parking_lot::enter(&words[i], records[i], still_waiting));
  for (std::size_t i = 0; i < keys; i += 2) parking_lot::unpark_all(&words[i]);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < keys; ++i)
    if (records[i].wakes.load() != (i % 2 == 0 ? 1 : 0)) ++wrong;
  EXPECT_EQ(wrong, 0u);
  for (std::size_t i = 1; i < keys; i += 2) EXPECT_FALSE(parking_lot::leave(records[i]));
}

// A wait on several keys (a wait on any of several tasks).
struct three_keys {
  int words[3] = {};
  std::size_t done_at = 3;  // the key whose announcement finds it done (3: none)
  std::size_t key_count() const { return 3; }
  const void* key(std::size_t i) const { return &words[i]; }
  bool announce(std::size_t i) const { return i != done_at; }
};

TEST(parking_lot, enter_all_parks_under_every_key_and_any_key_wakes) {
  three_keys t;
  park_records<counting_record> records(t.key_count());
  ASSERT_TRUE(parking_lot::enter_all(t, records.data()));
  parking_lot::unpark_all(t.key(1));
  EXPECT_EQ(records.data()[0].wakes.load(), 0);
  EXPECT_EQ(records.data()[1].wakes.load(), 1);
  EXPECT_EQ(records.data()[2].wakes.load(), 0);
  parking_lot::leave_all(t, records.data());
  for (auto& r : records) EXPECT_FALSE(r.queued);
}

TEST(parking_lot, enter_all_backs_out_of_every_key_when_one_is_done) {
  three_keys t;
  t.done_at = 2;
  park_records<counting_record> records(t.key_count());
  EXPECT_FALSE(parking_lot::enter_all(t, records.data()));
  for (auto& r : records) EXPECT_FALSE(r.queued);
  for (std::size_t i = 0; i < 3; ++i) parking_lot::unpark_all(t.key(i));
  for (auto& r : records) EXPECT_EQ(r.wakes.load(), 0) << "a record was left parked";
}

TEST(parking_lot, park_records_hold_one_record_per_key) {
  park_records<counting_record> one(1);
  EXPECT_EQ(one.end() - one.begin(), 1);
  park_records<counting_record> none(0);
  EXPECT_EQ(none.end() - none.begin(), 1);
  park_records<counting_record> many(4);
  EXPECT_EQ(many.end() - many.begin(), 4);
}

// The protocol end to end, looped: a completer publishes "done" and unparks while a
// waiter announces and parks. Either the waiter's re-check (under the bucket lock) sees
// done, or its record is woken; a lost wake-up shows as a waiter that never returns.
TEST(parking_lot, completion_racing_with_parking_is_never_lost) {
  const int rounds = static_cast<int>(cohort_test::scaled(20'000, 2'000));
  for (int r = 0; r < rounds; ++r) {
    std::atomic<bool> done{false};
    std::atomic<bool> waiters{false};  // the announcement the completer looks at
    std::atomic<bool> returned{false};
    std::atomic<bool> gave_up{false};
    counting_record rec;
    std::thread waiter([&] {
      const bool parked = parking_lot::enter(&done, rec, [&] {
        waiters.store(true, std::memory_order_seq_cst);
        return !done.load(std::memory_order_seq_cst);
      });
      if (parked) {
        if (!eventually([&] { return rec.wakes.load(std::memory_order_acquire) == 1; }))
          gave_up.store(!parking_lot::leave(rec));  // never woken: the test fails below
      }
      returned.store(true);
    });
    done.store(true, std::memory_order_seq_cst);
    if (waiters.load(std::memory_order_seq_cst)) parking_lot::unpark_all(&done);
    const bool ok = eventually([&] { return returned.load(); });
    waiter.join();
    ASSERT_TRUE(ok) << "round " << r;
    ASSERT_FALSE(gave_up.load()) << "round " << r << ": a wake-up was lost";
    ASSERT_LE(rec.wakes.load(), 1) << "round " << r;
  }
}

}  // namespace
