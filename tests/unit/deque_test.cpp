// SPDX-License-Identifier: Apache-2.0
// The Chase-Lev deque (lib/deque.hpp), in crossbeam-deque's taxonomy: smoke, empty,
// growth, stampede, stress (exactly-once counts), no_starvation, destructors.
#include "deque.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using cohort::detail::chase_lev_deque;
using cohort::detail::deque_owner;
using cohort::detail::deque_thief;
using cohort::detail::steal_result;
using cohort_test::eventually;
using cohort_test::scaled;

// Takes one item from the top, retrying lost races; false when the deque is empty.
template <class T>
bool steal_one(deque_thief<T>& thief, T& out) {
  for (;;) {
    switch (thief.steal(out)) {
      case steal_result::stolen:
        return true;
      case steal_result::empty:
        return false;
      case steal_result::lost_race:
        continue;
    }
  }
}

TEST(deque, smoke_pop_is_lifo_and_steal_is_fifo) {
  chase_lev_deque<std::intptr_t> d;
  deque_owner<std::intptr_t> owner(d);
  deque_thief<std::intptr_t> thief(d);
  for (std::intptr_t i = 1; i <= 4; ++i) owner.push(i);

  std::intptr_t x = 0;
  ASSERT_TRUE(owner.pop(x));
  EXPECT_EQ(x, 4);  // the owner takes the newest
  ASSERT_EQ(thief.steal(x), steal_result::stolen);
  EXPECT_EQ(x, 1);  // a thief takes the oldest
  ASSERT_TRUE(owner.pop(x));
  EXPECT_EQ(x, 3);
  ASSERT_EQ(thief.steal(x), steal_result::stolen);
  EXPECT_EQ(x, 2);
  EXPECT_FALSE(owner.pop(x));
  EXPECT_EQ(thief.steal(x), steal_result::empty);
}

TEST(deque, empty_deque_pops_and_steals_nothing) {
  chase_lev_deque<std::intptr_t> d;
  deque_owner<std::intptr_t> owner(d);
  deque_thief<std::intptr_t> thief(d);
  std::intptr_t x = -7;
  EXPECT_TRUE(owner.looks_empty());
  EXPECT_FALSE(owner.pop(x));
  EXPECT_EQ(thief.steal(x), steal_result::empty);
  EXPECT_EQ(x, -7) << "a failed pop or steal must not write its output";

  // Empty again after being used from both ends, many times (indices move past 0).
  for (int round = 0; round < 1000; ++round) {
    owner.push(round);
    owner.push(round + 1);
    ASSERT_TRUE(owner.pop(x));
    ASSERT_EQ(thief.steal(x), steal_result::stolen);
    ASSERT_EQ(x, round);
    ASSERT_FALSE(owner.pop(x));
    ASSERT_EQ(thief.steal(x), steal_result::empty);
    ASSERT_TRUE(owner.looks_empty());
    ASSERT_EQ(d.size_hint(), 0u);
  }
}

TEST(deque, grows_beyond_its_initial_capacity_and_keeps_every_item_in_order) {
  chase_lev_deque<std::intptr_t> d(4);
  deque_owner<std::intptr_t> owner(d);
  deque_thief<std::intptr_t> thief(d);
  ASSERT_EQ(d.capacity(), 4u);
  constexpr std::intptr_t n = 10'000;
  for (std::intptr_t i = 0; i < n; ++i) owner.push(i);
  EXPECT_GE(d.capacity(), static_cast<std::size_t>(n));
  EXPECT_EQ(d.size_hint(), static_cast<std::size_t>(n));
  std::intptr_t x;
  for (std::intptr_t i = n; i-- > 0;) {
    ASSERT_TRUE(owner.pop(x));
    ASSERT_EQ(x, i);
  }
  EXPECT_FALSE(owner.pop(x));

  for (std::intptr_t i = 0; i < n; ++i) owner.push(i);
  for (std::intptr_t i = 0; i < n; ++i) {
    ASSERT_EQ(thief.steal(x), steal_result::stolen);
    ASSERT_EQ(x, i);
  }
  EXPECT_EQ(thief.steal(x), steal_result::empty);
}

TEST(deque, growth_after_wrap_around_copies_the_live_window) {
  // Move top and bottom far past the capacity so the live items straddle the end of the
  // ring, then grow: the copy must take [top, bottom), not [0, size).
  chase_lev_deque<std::intptr_t> d(8);
  deque_owner<std::intptr_t> owner(d);
  deque_thief<std::intptr_t> thief(d);
  std::intptr_t next = 0;
  std::intptr_t expect_stolen = 0;
  std::intptr_t x;
  for (int i = 0; i < 6; ++i) owner.push(next++);
  for (int i = 0; i < 5; ++i) {  // top = 5, bottom = 6
    ASSERT_EQ(thief.steal(x), steal_result::stolen);
    ASSERT_EQ(x, expect_stolen++);
  }
  for (int i = 0; i < 7; ++i) owner.push(next++);  // 8 live: 5..12, wrapped; full
  ASSERT_EQ(d.capacity(), 8u);
  owner.push(next++);  // grows
  ASSERT_GT(d.capacity(), 8u);
  while (steal_one(thief, x)) ASSERT_EQ(x, expect_stolen++);
  EXPECT_EQ(expect_stolen, next);
}

TEST(deque, owner_and_thief_race_for_the_last_item_and_exactly_one_wins) {
  const std::size_t rounds = scaled(100'000, 50'000);
  chase_lev_deque<std::intptr_t> d;
  deque_owner<std::intptr_t> owner(d);
  std::atomic<std::size_t> round{0};
  std::atomic<std::size_t> thief_done{0};
  std::atomic<std::size_t> thief_wins{0};
  std::size_t owner_wins = 0;
  std::jthread thief_thread([&] {  // joins on an early ASSERT return too
    deque_thief<std::intptr_t> thief(d);
    for (std::size_t r = 1; r <= rounds; ++r) {
      // Bounded handshakes: if either side stops (a failed ASSERT), the other gives up.
      if (!eventually([&] { return round.load(std::memory_order_acquire) >= r; })) return;
      std::intptr_t x;
      if (thief.steal(x) == steal_result::stolen) {
        EXPECT_EQ(x, static_cast<std::intptr_t>(r));
        thief_wins.fetch_add(1, std::memory_order_relaxed);
      }
      thief_done.store(r, std::memory_order_release);
    }
  });
  for (std::size_t r = 1; r <= rounds; ++r) {
    owner.push(static_cast<std::intptr_t>(r));
    round.store(r, std::memory_order_release);
    std::intptr_t x;
    if (owner.pop(x)) {
      EXPECT_EQ(x, static_cast<std::intptr_t>(r));
      ++owner_wins;
    }
    if (!eventually([&] { return thief_done.load(std::memory_order_acquire) >= r; })) {
      thief_thread.join();
      FAIL() << "round " << r << ": the thief stopped answering";
    }
    // Whoever lost, the item went somewhere exactly once and the deque is empty again.
    ASSERT_EQ(owner_wins + thief_wins.load(std::memory_order_relaxed), r) << "round " << r;
    ASSERT_TRUE(owner.looks_empty());
  }
  thief_thread.join();
}

// ---- concurrent: every item is taken exactly once ------------------------------------

// One owner pushing [0, n) with random pops in between, `thieves` threads stealing until
// the owner is finished and the deque is drained. Returns how many times each item was
// taken, and each thief's haul.
struct exactly_once_run {
  std::vector<std::atomic<std::uint8_t>> taken;
  std::vector<std::size_t> per_thief;
  std::size_t owner_pops = 0;

  exactly_once_run(std::size_t n, std::size_t thieves, std::size_t initial_capacity,
                   bool push_everything_first)
      : taken(n), per_thief(thieves, 0) {
    chase_lev_deque<std::intptr_t> d(initial_capacity);
    deque_owner<std::intptr_t> owner(d);
    cohort_test::gate go;  // the thieves start together
    std::atomic<bool> owner_finished{false};
    auto take = [&](std::intptr_t x) {
      ASSERT_GE(x, 0);
      ASSERT_LT(static_cast<std::size_t>(x), n);
      taken[static_cast<std::size_t>(x)].fetch_add(1, std::memory_order_relaxed);
    };
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < thieves; ++t) {
      threads.emplace_back([&, t] {
        deque_thief<std::intptr_t> thief(d);
        EXPECT_TRUE(go.wait()) << "the start gate never opened";
        std::size_t mine = 0;
        for (;;) {
          std::intptr_t x;
          const steal_result r = thief.steal(x);
          if (r == steal_result::stolen) {
            take(x);
            ++mine;
          } else if (r == steal_result::empty) {
            if (owner_finished.load(std::memory_order_acquire) && thief.looks_empty()) break;
            std::this_thread::yield();
          }
        }
        per_thief[t] = mine;
      });
    }
    if (push_everything_first) {
      for (std::size_t i = 0; i < n; ++i) owner.push(static_cast<std::intptr_t>(i));
      go.open();
      std::intptr_t x;
      while (owner.pop(x)) {
        take(x);
        ++owner_pops;
      }
    } else {
      go.open();
      std::mt19937 rng(12345);
      for (std::size_t i = 0; i < n; ++i) {
        owner.push(static_cast<std::intptr_t>(i));
        if (rng() % 3 == 0) {
          for (unsigned k = rng() % 4; k > 0; --k) {
            std::intptr_t x;
            if (!owner.pop(x)) break;
            take(x);
            ++owner_pops;
          }
        }
      }
      std::intptr_t x;
      while (owner.pop(x)) {
        take(x);
        ++owner_pops;
      }
    }
    owner_finished.store(true, std::memory_order_release);
    for (auto& t : threads) t.join();
  }

  void expect_each_taken_once() const {
    std::size_t lost = 0;
    std::size_t duplicated = 0;
    std::size_t first_bad = taken.size();
    for (std::size_t i = 0; i < taken.size(); ++i) {
      const auto c = taken[i].load(std::memory_order_relaxed);
      if (c == 0) ++lost;
      if (c > 1) ++duplicated;
      if (c != 1 && first_bad == taken.size()) first_bad = i;
    }
    EXPECT_EQ(lost, 0u) << "items never taken; first bad item " << first_bad;
    EXPECT_EQ(duplicated, 0u) << "items taken twice; first bad item " << first_bad;
    std::size_t total = owner_pops;
    for (auto s : per_thief) total += s;
    EXPECT_EQ(total, taken.size());
  }
};

TEST(deque, stampede_of_thieves_on_a_full_deque_takes_each_item_once) {
  exactly_once_run run(scaled(200'000, 200'000), 3, 256, /*push_everything_first=*/true);
  run.expect_each_taken_once();
}

TEST(deque, stress_owner_pushing_and_popping_with_three_thieves_takes_each_item_once) {
  exactly_once_run run(scaled(200'000, 200'000), 3, 256, /*push_everything_first=*/false);
  run.expect_each_taken_once();
}

TEST(deque, stress_with_growth_under_thieves_takes_each_item_once) {
  // Capacity 2: the owner grows the ring again and again while thieves read old buffers.
  exactly_once_run run(scaled(100'000, 50'000), 3, 2, /*push_everything_first=*/true);
  run.expect_each_taken_once();
}

TEST(deque, no_starvation_thieves_keep_stealing_while_the_owner_pushes_and_pops) {
  // The owner never lets the deque run dry; every thief must get a share within a bounded
  // time, i.e. the owner's pops do not lock thieves out.
  constexpr std::size_t thieves = 3;
  const std::size_t want_each = scaled(2'000, 300);
  chase_lev_deque<std::intptr_t> d(16);
  deque_owner<std::intptr_t> owner(d);
  std::atomic<bool> stop{false};
  std::vector<std::atomic<std::size_t>> hits(thieves);
  std::vector<std::atomic<std::size_t>> empties(thieves);
  std::vector<std::atomic<std::size_t>> lost(thieves);
  std::atomic<std::uint64_t> checksum_stolen{0};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < thieves; ++t) {
    threads.emplace_back([&, t] {
      deque_thief<std::intptr_t> thief(d);
      // A thief that has its share retires, so a slow thief competes with the owner
      // only: on a loaded 2-core machine the others could otherwise take everything.
      while (!stop.load(std::memory_order_acquire) &&
             hits[t].load(std::memory_order_relaxed) < want_each) {
        std::intptr_t x;
        const steal_result r = thief.steal(x);
        if (r == steal_result::stolen) {
          hits[t].fetch_add(1, std::memory_order_relaxed);
          checksum_stolen.fetch_add(static_cast<std::uint64_t>(x), std::memory_order_relaxed);
        } else {
          (r == steal_result::empty ? empties : lost)[t].fetch_add(1, std::memory_order_relaxed);
          std::this_thread::yield();
        }
      }
    });
  }
  auto everyone_fed = [&] {
    for (auto& h : hits)
      if (h.load(std::memory_order_relaxed) < want_each) return false;
    return true;
  };
  std::uint64_t pushed_sum = 0;
  std::uint64_t popped_sum = 0;
  std::intptr_t next = 1;
  const auto deadline = std::chrono::steady_clock::now() + cohort_test::patience();
  while (!everyone_fed() && std::chrono::steady_clock::now() < deadline) {
    // Keep a stock of items between the owner's time slices (on a loaded machine the
    // thieves may only run while the owner is descheduled), and pop a share back.
    for (int i = 0; i < 32; ++i) {
      owner.push(next);
      pushed_sum += static_cast<std::uint64_t>(next);
      ++next;
    }
    const int pops = d.size_hint() > 512 ? 40 : 16;
    for (int i = 0; i < pops; ++i) {
      std::intptr_t x;
      if (!owner.pop(x)) break;
      popped_sum += static_cast<std::uint64_t>(x);
    }
    std::this_thread::yield();
  }
  stop.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();
  for (std::size_t t = 0; t < thieves; ++t)
    EXPECT_GE(hits[t].load(), want_each)
        << "thief " << t << " starved (" << empties[t].load() << " empty, " << lost[t].load()
        << " lost races; deque size " << d.size_hint() << ")";
  std::intptr_t x;
  while (owner.pop(x)) popped_sum += static_cast<std::uint64_t>(x);
  EXPECT_EQ(popped_sum + checksum_stolen.load(), pushed_sum) << "an item was lost or duplicated";
}

// ---- destructors: items own heap objects; each must be destroyed exactly once ----------
//
// The deque holds raw pointers (trivially copyable slots), so whoever takes an item owns
// it: a thief that steals it, the owner that pops it, or (the "drop" phase, crossbeam's
// destructors test) the owner draining a deque that dies with work still in it. Each
// object counts its own destruction; a lost item shows as a missing destruction, a
// duplicated one as a second destruction (or a double free under ASan).

struct tracked {
  static inline std::atomic<long> alive{0};
  std::size_t id;
  std::vector<std::atomic<std::uint8_t>>* destroyed;  // destructions per id
  tracked(std::size_t i, std::vector<std::atomic<std::uint8_t>>* d) : id(i), destroyed(d) {
    alive.fetch_add(1, std::memory_order_relaxed);
  }
  ~tracked() {
    (*destroyed)[id].fetch_add(1, std::memory_order_relaxed);
    alive.fetch_sub(1, std::memory_order_relaxed);
  }
};

TEST(deque, destructors_every_owned_object_is_consumed_and_freed_exactly_once) {
  const std::size_t n = scaled(100'000, 50'000);
  const std::size_t left_behind = 1'000;  // pushed after the thieves stop: still queued
  constexpr std::size_t thieves = 3;
  std::vector<std::atomic<std::uint8_t>> destroyed(n + left_behind);
  std::size_t drained_at_drop = 0;
  {
    chase_lev_deque<tracked*> d(8);
    deque_owner<tracked*> owner(d);
    std::atomic<bool> stop_stealing{false};
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < thieves; ++t) {
      threads.emplace_back([&] {
        deque_thief<tracked*> thief(d);
        while (!stop_stealing.load(std::memory_order_acquire)) {
          tracked* p;
          if (thief.steal(p) == steal_result::stolen)
            delete p;
          else
            std::this_thread::yield();
        }
      });
    }
    std::mt19937 rng(7);
    for (std::size_t i = 0; i < n; ++i) {
      owner.push(new tracked(i, &destroyed));
      if (rng() % 2 == 0) {
        tracked* p;
        if (owner.pop(p)) delete p;
      }
    }
    stop_stealing.store(true, std::memory_order_release);
    for (auto& t : threads) t.join();
    for (std::size_t i = n; i < n + left_behind; ++i) owner.push(new tracked(i, &destroyed));
    // The drop phase: the deque dies with work in it; its owner hands back what is left.
    tracked* p;
    while (owner.pop(p)) {
      delete p;
      ++drained_at_drop;
    }
  }
  EXPECT_GE(drained_at_drop, left_behind) << "the drop phase had nothing to destroy";
  EXPECT_EQ(tracked::alive.load(), 0) << "objects leaked";
  std::size_t never = 0, twice = 0;
  for (auto& count : destroyed) {
    if (count.load() == 0) ++never;
    if (count.load() > 1) ++twice;
  }
  EXPECT_EQ(never, 0u) << "objects never destroyed (lost from the deque)";
  EXPECT_EQ(twice, 0u) << "objects destroyed twice (taken twice from the deque)";
}

}  // namespace
