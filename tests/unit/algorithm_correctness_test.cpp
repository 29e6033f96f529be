// SPDX-License-Identifier: Apache-2.0
// Every parallel algorithm against its serial std:: counterpart, on random inputs of
// awkward sizes (0, 1, small primes, 10^6 + 3), with signed and unsigned index types,
// non-default-constructible results, and every partition.
#include <cohort/algorithm.hpp>
#include <cohort/scheduler.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <numeric>
#include <random>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using cohort_test::scaled;

std::vector<std::size_t> awkward_sizes() {
  return {0, 1, 2, 3, 7, 61, 1021, 65537, scaled(1'000'003, 20'011)};
}

std::vector<std::int64_t> random_values(std::size_t n, std::uint64_t seed, std::int64_t range) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> dist(-range, range);
  std::vector<std::int64_t> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

const cohort::partition all_partitions[] = {
    cohort::partition::adaptive, cohort::partition::static_split, cohort::partition::deterministic};

// A result type with no default constructor.
struct boxed {
  explicit boxed(std::int64_t x) : value(x) {}
  std::int64_t value;
  bool operator==(const boxed&) const = default;
};

TEST(algorithm_loops, for_each_index_visits_every_index_once_for_every_size_and_partition) {
  cohort::scheduler s({.workers = 3, .name = "al"});
  for (auto part : all_partitions) {
    for (std::size_t n : awkward_sizes()) {
      std::vector<std::atomic<int>> hits(n);
      cohort::for_each_index(s, std::size_t{0}, n, [&](std::size_t i) { ++hits[i]; },
                             {.split = part});
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
    }
  }
}

TEST(algorithm_loops, for_each_index_with_negative_signed_bounds_and_mixed_types) {
  cohort::scheduler s({.workers = 2, .name = "al"});
  std::vector<std::atomic<int>> hits(2001);
  cohort::for_each_index(s, -1000, 1001L, [&](long i) {
    static_assert(std::is_same_v<decltype(i), long>);
    ++hits[static_cast<std::size_t>(i + 1000)];
  });
  for (auto& h : hits) ASSERT_EQ(h.load(), 1);

  std::vector<int> v(777);
  cohort::for_each_index(s, 0, v.size(), [&](std::size_t i) { v[i] = static_cast<int>(i); });
  for (std::size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], static_cast<int>(i));

  std::atomic<int> small{0};
  cohort::for_each_index(s, std::int8_t{-100}, std::int8_t{100}, [&](std::int8_t) { ++small; });
  EXPECT_EQ(small.load(), 200);
  cohort::for_each_index(s, 5u, 5u, [&](unsigned) { ADD_FAILURE() << "empty range ran"; });
}

TEST(algorithm_loops, last_before_first_is_a_clear_error) {
  cohort::scheduler s({.workers = 1, .name = "al"});
  EXPECT_THROW(cohort::for_each_index(s, 10, 5, [](int) {}), std::invalid_argument);
  EXPECT_THROW(cohort::for_each_chunk(s, 10, 5, [](int, int) {}), std::invalid_argument);
}

TEST(algorithm_loops, for_each_chunk_covers_the_range_with_disjoint_chunks) {
  cohort::scheduler s({.workers = 3, .name = "al"});
  for (auto part : all_partitions) {
    for (std::size_t n : awkward_sizes()) {
      std::vector<std::atomic<int>> hits(n);
      std::atomic<std::size_t> calls{0};
      cohort::for_each_chunk(s, std::int64_t{0}, static_cast<std::int64_t>(n),
                             [&](std::int64_t lo, std::int64_t hi) {
                               ASSERT_LT(lo, hi);
                               ++calls;
                               for (auto i = lo; i < hi; ++i) ++hits[static_cast<std::size_t>(i)];
                             },
                             {.split = part});
      for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n=" << n;
      if (n == 0) {
        EXPECT_EQ(calls.load(), 0u);
      }
    }
  }
}

TEST(algorithm_loops, for_each_chunk_respects_a_user_grain) {
  cohort::scheduler s({.workers = 2, .name = "al"});
  std::atomic<std::size_t> biggest{0};
  cohort::for_each_chunk(s, 0, 100'000,
                         [&](int lo, int hi) {
                           std::size_t len = static_cast<std::size_t>(hi - lo),
                                       seen = biggest.load();
                           while (len > seen && !biggest.compare_exchange_weak(seen, len)) {
                           }
                         },
                         {.grain = 1000});
  EXPECT_LE(biggest.load(), 1000u);
  EXPECT_GT(biggest.load(), 0u);
}

TEST(algorithm_loops, for_each_mutates_elements_by_reference) {
  cohort::scheduler s({.workers = 2, .name = "al"});
  for (std::size_t n : awkward_sizes()) {
    auto v = random_values(n, n, 1000);
    auto want = v;
    for (auto& x : want) x = x * 3 + 1;
    cohort::for_each(s, v, [](std::int64_t& x) { x = x * 3 + 1; });
    ASSERT_EQ(v, want) << "n=" << n;
  }
}

TEST(algorithm_loops, transform_matches_std_transform_and_returns_the_end) {
  cohort::scheduler s({.workers = 3, .name = "al"});
  for (auto part : all_partitions) {
    for (std::size_t n : awkward_sizes()) {
      auto in = random_values(n, n + 1, 1 << 20);
      std::vector<std::int64_t> out(n), want(n);
      std::transform(in.begin(), in.end(), want.begin(), [](std::int64_t x) { return x * x; });
      auto end = cohort::transform(s, in, out.begin(), [](std::int64_t x) { return x * x; },
                                   {.split = part});
      ASSERT_EQ(end, out.end());
      ASSERT_EQ(out, want) << "n=" << n;
    }
  }
}

TEST(algorithm_loops, transform_to_a_non_default_constructible_result_type) {
  cohort::scheduler s({.workers = 2, .name = "al"});
  const std::size_t n = scaled(100'003, 5'003);
  auto in = random_values(n, 7, 1000);
  std::vector<boxed> out(n, boxed(0));
  cohort::transform(s, in, out.begin(), [](std::int64_t x) { return boxed(x + 1); });
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(out[i].value, in[i] + 1);
  // Through a back_inserter (a sequential output iterator): in order, nothing lost.
  std::vector<boxed> appended;
  cohort::transform(s, in, std::back_inserter(appended), [](std::int64_t x) { return boxed(x); });
  ASSERT_EQ(appended.size(), n);
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(appended[i].value, in[i]);
}

// std::vector<bool>::iterator writes bits of shared words: the parallel loop must not
// write them concurrently. Repeated so a lost write would show.
TEST(algorithm_loops, transform_into_vector_bool_loses_no_write) {
  cohort::scheduler s({.workers = 2, .name = "al"});
  const std::size_t n = 4099;
  std::vector<int> in(n);
  std::iota(in.begin(), in.end(), 0);
  for (int round = 0; round < static_cast<int>(scaled(200, 20)); ++round) {
    std::vector<bool> bits(n, false);
    auto end =
        cohort::transform(s, in, bits.begin(), [](int x) { return x % 3 != 1; }, {.grain = 7});
    ASSERT_EQ(end, bits.end());
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(bits[i], i % 3 != 1) << "round " << round;
  }
}

TEST(algorithm_reduce, reduce_and_transform_reduce_match_std_for_every_size_and_partition) {
  cohort::scheduler s({.workers = 3, .name = "ar"});
  for (auto part : all_partitions) {
    for (std::size_t n : awkward_sizes()) {
      auto v = random_values(n, n + 2, 1 << 20);
      const auto want = std::reduce(v.begin(), v.end(), std::int64_t{5});
      EXPECT_EQ(cohort::reduce(s, v, std::int64_t{5}, std::plus<>{}, {.split = part}), want);
      const auto want_sq = std::transform_reduce(v.begin(), v.end(), std::int64_t{0}, std::plus<>{},
                                                 [](std::int64_t x) { return x * x; });
      EXPECT_EQ(cohort::transform_reduce(s, v, std::int64_t{0}, std::plus<>{},
                                         [](std::int64_t x) { return x * x; }, {.split = part}),
                want_sq);
    }
  }
}

// A sum or product of a built-in type folds four elements at a time (pairs first,
// reduce.hpp) where it should (a review fix once turned it off for std::plus<>, which
// is std::plus<void>, and no result showed it).
static_assert(cohort::detail::folds_pairs<double, std::vector<double>::const_iterator, std::plus<>,
                                          cohort::detail::identity_map>);
static_assert(
    cohort::detail::folds_pairs<std::int64_t, std::vector<std::int64_t>::iterator,
                                std::multiplies<std::int64_t>, cohort::detail::identity_map>);

// Narrow types must still wrap as the one-at-a-time fold does.
TEST(algorithm_reduce, pairwise_folding_of_built_in_types_matches_the_serial_fold) {
  cohort::scheduler s({.workers = 2, .name = "ar"});
  for (std::size_t n : awkward_sizes()) {
    std::vector<unsigned char> bytes(n);
    for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<unsigned char>(i * 37 + 11);
    const auto want = std::accumulate(bytes.begin(), bytes.end(), static_cast<unsigned char>(7),
                                      std::plus<unsigned char>{});
    EXPECT_EQ(cohort::reduce(s, bytes, static_cast<unsigned char>(7), std::plus<unsigned char>{}),
              want)
        << n;
    const auto want_product = std::accumulate(bytes.begin(), bytes.end(),
                                              static_cast<unsigned char>(1), std::multiplies<>{});
    EXPECT_EQ(
        cohort::reduce(s, bytes, static_cast<unsigned char>(1), std::multiplies<unsigned char>{},
                       {.split = cohort::partition::deterministic}),
        want_product)
        << n;
  }
}

// The pairs fold only stored elements: a transform view's element is a call that may
// throw, and it must be named by its own index, once (review of 865e2e2: it was named by
// the first index of its four, and under keep_going reported twice).
TEST(algorithm_reduce, a_throwing_view_element_is_named_by_its_own_index_once) {
  cohort::scheduler s({.workers = 1, .name = "ar"});
  auto v = std::views::iota(0, 200) | std::views::transform([](int x) -> double {
             if (x == 7) throw std::runtime_error("bad element");
             return x;
           });
  for (auto policy :
       {cohort::failure_policy::keep_going, cohort::failure_policy::cancel_siblings}) {
    try {
      (void)cohort::reduce(s, v, 0.0, std::plus<>{},
                           {.grain = 1000, .on_failure = policy, .name = "r"});
      ADD_FAILURE() << "no failure reported";
    } catch (const cohort::task_group_error& e) {
      const std::vector<std::string> names(e.names().begin(), e.names().end());
      EXPECT_EQ(names, std::vector<std::string>{"r[7]"});
    }
  }
}

TEST(algorithm_reduce, non_commutative_op_combines_in_index_order) {
  cohort::scheduler s({.workers = 3, .name = "ar"});
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{97}, std::size_t{20011}}) {
    std::vector<std::string> words(n);
    for (std::size_t i = 0; i < n; ++i) words[i] = std::string(1, static_cast<char>('a' + i % 26));
    const std::string want = std::accumulate(words.begin(), words.end(), std::string(">"));
    for (auto part : all_partitions)
      EXPECT_EQ(cohort::reduce(s, words, std::string(">"), std::plus<>{}, {.split = part}), want);
  }
}

TEST(algorithm_reduce, non_default_constructible_accumulator) {
  cohort::scheduler s({.workers = 2, .name = "ar"});
  const std::size_t n = scaled(100'003, 5'003);
  auto v = random_values(n, 3, 1000);
  const auto got = cohort::transform_reduce(
      s, v, boxed(0), [](boxed a, boxed b) { return boxed(a.value + b.value); },
      [](std::int64_t x) { return boxed(x); });
  EXPECT_EQ(got.value, std::reduce(v.begin(), v.end(), std::int64_t{0}));
}

TEST(algorithm_scan, inclusive_and_exclusive_scans_match_std_for_every_size_and_partition) {
  cohort::scheduler s({.workers = 3, .name = "as"});
  for (auto part : all_partitions) {
    for (std::size_t n : awkward_sizes()) {
      auto v = random_values(n, n + 3, 1 << 20);
      std::vector<std::int64_t> want(n), got(n);
      std::inclusive_scan(v.begin(), v.end(), want.begin());
      ASSERT_EQ(cohort::inclusive_scan(s, v, got.begin(), std::plus<>{}, {.split = part}),
                got.end());
      ASSERT_EQ(got, want) << "inclusive n=" << n;
      std::exclusive_scan(v.begin(), v.end(), want.begin(), std::int64_t{-7});
      ASSERT_EQ(cohort::exclusive_scan(s, v, got.begin(), -7, std::plus<>{}, {.split = part}),
                got.end());
      ASSERT_EQ(got, want) << "exclusive n=" << n;
    }
  }
}

TEST(algorithm_scan, blocks_a_thief_starts_before_their_turn_are_reduced_then_scanned) {
  // The worker of block 0 is held at element 1 until another thread has applied op: that
  // thread's block starts before its predecessors are done, so it is only reduced in the
  // first pass and scanned from its chained carry in the second.
  cohort::scheduler s({.workers = 2, .name = "as"});
  const std::size_t n = scaled(1'000'003, 200'003);
  std::vector<std::int64_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::int64_t>(i % 7) + 1;
  const std::int64_t marker = -1000;
  v[1] = marker;
  std::atomic<std::thread::id> first_caller{};
  std::atomic<bool> another_thread{false};
  std::atomic<bool> held_in_vain{false};
  auto plus = [&](std::int64_t a, std::int64_t b) {
    std::thread::id none{};
    const auto me = std::this_thread::get_id();
    if (!first_caller.compare_exchange_strong(none, me) && none != me) another_thread = true;
    if (b == marker && !cohort_test::poll_until([&] { return another_thread.load(); }))
      held_in_vain = true;
    return a + b;
  };
  std::vector<std::int64_t> want(n), got(n);
  std::inclusive_scan(v.begin(), v.end(), want.begin());
  cohort::inclusive_scan(s, v, got.begin(), plus);
  EXPECT_FALSE(held_in_vain.load()) << "no other thread ever scanned";
  EXPECT_EQ(got, want);
}

TEST(algorithm_scan, scans_run_in_place) {
  cohort::scheduler s({.workers = 2, .name = "as"});
  for (std::size_t n : awkward_sizes()) {
    auto v = random_values(n, n + 4, 1000);
    std::vector<std::int64_t> want(n);
    std::inclusive_scan(v.begin(), v.end(), want.begin());
    auto w = v;
    cohort::inclusive_scan(s, w, w.begin());
    ASSERT_EQ(w, want) << "n=" << n;
    std::exclusive_scan(v.begin(), v.end(), want.begin(), std::int64_t{3});
    cohort::exclusive_scan(s, v, v.begin(), std::int64_t{3});
    ASSERT_EQ(v, want) << "n=" << n;
  }
}

TEST(algorithm_scan, non_commutative_scan_in_index_order) {
  cohort::scheduler s({.workers = 2, .name = "as"});
  const std::size_t n = scaled(50'021, 3'001);
  std::vector<std::string> words(n);
  for (std::size_t i = 0; i < n; ++i) words[i] = std::string(1, static_cast<char>('a' + i % 26));
  std::vector<std::string> want(n), got(n);
  auto concat = [](const std::string& a, const std::string& b) {
    return a.substr(a.size() > 8 ? a.size() - 8 : 0) + b;
  };
  std::inclusive_scan(words.begin(), words.end(), want.begin(), concat);
  cohort::inclusive_scan(s, words, got.begin(), concat, {.grain = 1000});
  EXPECT_EQ(got, want);
}

TEST(algorithm_sort, sort_and_stable_sort_match_std_for_every_size) {
  cohort::scheduler s({.workers = 3, .name = "ao"});
  for (std::size_t n : awkward_sizes()) {
    auto v = random_values(n, n + 5, 1 << 30);
    auto want = v;
    std::sort(want.begin(), want.end());
    auto got = v;
    cohort::sort(s, got);
    ASSERT_EQ(got, want) << "n=" << n;
    got = v;
    cohort::sort(s, got, std::greater<>{});
    std::reverse(want.begin(), want.end());
    ASSERT_EQ(got, want) << "descending n=" << n;
  }
}

TEST(algorithm_sort, duplicates_sorted_reversed_and_organ_pipe_inputs) {
  cohort::scheduler s({.workers = 2, .name = "ao"});
  const std::size_t n = scaled(1'000'003, 50'021);
  std::vector<std::vector<int>> inputs;
  inputs.emplace_back(n, 7);  // all equal
  std::vector<int> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<int>(i % 3);
  inputs.push_back(v);  // three values
  std::iota(v.begin(), v.end(), 0);
  inputs.push_back(v);  // sorted
  std::reverse(v.begin(), v.end());
  inputs.push_back(v);  // reversed
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<int>(std::min(i, n - i));
  inputs.push_back(v);  // organ pipe
  for (auto& in : inputs) {
    auto want = in;
    std::sort(want.begin(), want.end());
    auto got = in;
    cohort::sort(s, got);
    ASSERT_EQ(got, want);
    got = in;
    cohort::stable_sort(s, got);
    ASSERT_EQ(got, want);
  }
}

// Numbers under the standard orderings take the branchless block partition (sort.hpp) at
// every level; its edges: blocks of 64 with one side left over, few distinct keys (equal
// keys misplaced on both sides), tiny user grains (pieces of 2 and 3 elements), and every
// standard ordering and number type it accepts.
TEST(algorithm_sort, numbers_under_standard_orderings_sort_like_std_sort) {
  cohort::scheduler s({.workers = 2, .name = "ao"});
  std::mt19937_64 rng(11);
  for (std::size_t n : {16'384u, 16'385u, 20'011u, 65'537u}) {
    for (std::uint64_t distinct : {1u, 2u, 3u, 64u, 1u << 30}) {
      std::vector<int> v(n);
      for (auto& x : v) x = static_cast<int>(rng() % distinct) - 1;
      auto want = v;
      std::sort(want.begin(), want.end());
      auto got = v;
      cohort::sort(s, got);
      ASSERT_EQ(got, want) << "n=" << n << " distinct=" << distinct;
      got = v;
      cohort::sort(s, got, std::ranges::less{}, {.grain = 3});
      ASSERT_EQ(got, want) << "grain 3, n=" << n << " distinct=" << distinct;
      std::reverse(want.begin(), want.end());
      got = v;
      cohort::sort(s, got, std::greater<int>{});
      ASSERT_EQ(got, want) << "greater, n=" << n << " distinct=" << distinct;
      std::vector<double> d(v.begin(), v.end()), want_d(d);
      std::sort(want_d.begin(), want_d.end(), std::greater<>{});
      cohort::sort(s, d, std::ranges::greater{}, {.grain = 2});
      ASSERT_EQ(d, want_d) << "double, n=" << n << " distinct=" << distinct;
      std::vector<std::uint8_t> bytes(n);
      for (auto& x : bytes) x = static_cast<std::uint8_t>(rng() % distinct);
      auto want_bytes = bytes;
      std::sort(want_bytes.begin(), want_bytes.end());
      cohort::sort(s, bytes, std::less<std::uint8_t>{});
      ASSERT_EQ(bytes, want_bytes) << "bytes, n=" << n << " distinct=" << distinct;
    }
  }
}

TEST(algorithm_sort, stable_sort_keeps_the_order_of_equal_keys) {
  cohort::scheduler s({.workers = 3, .name = "ao"});
  for (std::size_t n : awkward_sizes()) {
    auto keys = random_values(n, n + 6, 50);  // many equal keys
    std::vector<std::pair<std::int64_t, std::size_t>> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = {keys[i], i};
    auto want = v;
    auto by_key = [](const auto& a, const auto& b) { return a.first < b.first; };
    std::stable_sort(want.begin(), want.end(), by_key);
    cohort::stable_sort(s, v, by_key);
    ASSERT_EQ(v, want) << "n=" << n;
  }
}

TEST(algorithm_sort, strings_sort_with_a_user_grain_and_stable_sort_merges_many_levels) {
  cohort::scheduler s({.workers = 2, .name = "ao"});
  const std::size_t n = scaled(200'003, 20'011);
  auto keys = random_values(n, 11, 1 << 30);
  std::vector<std::string> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::to_string(keys[i]);
  auto want = v;
  std::sort(want.begin(), want.end());
  auto copy = v;
  cohort::sort(s, v, std::less<>{}, {.grain = 9000});
  EXPECT_EQ(v, want);
  cohort::stable_sort(s, copy, std::less<>{}, {.grain = 9000});  // 2^5 leaves: 5 merge levels
  EXPECT_EQ(copy, want);
}

TEST(algorithm_sort, non_default_constructible_elements_sort) {
  cohort::scheduler s({.workers = 2, .name = "ao"});
  auto keys = random_values(scaled(50'000, 5'000), 12, 1000);
  std::vector<boxed> v;
  for (auto k : keys) v.emplace_back(k);
  auto by_value = [](const boxed& a, const boxed& b) { return a.value < b.value; };
  cohort::stable_sort(s, v, by_value);
  std::stable_sort(keys.begin(), keys.end());
  for (std::size_t i = 0; i < keys.size(); ++i) ASSERT_EQ(v[i].value, keys[i]);
}

// Move-only, no default constructor: stable_sort's buffer is raw storage.
struct move_only_keyed {
  move_only_keyed(std::int64_t k, std::size_t i)
      : key(k), index(std::make_unique<std::size_t>(i)) {}
  std::int64_t key;
  std::unique_ptr<std::size_t> index;  // the original position: checks stability
};

TEST(algorithm_sort, stable_sort_of_move_only_elements_without_default_constructor_is_parallel) {
  cohort::scheduler s({.workers = 2, .name = "ao"});
  const std::size_t n = scaled(100'003, 40'009);  // >= 2 x min_sort_leaf: a merge sort
  auto keys = random_values(n, 13, 100);          // many equal keys
  std::vector<move_only_keyed> v;
  v.reserve(n);
  for (std::size_t i = 0; i < n; ++i) v.emplace_back(keys[i], i);
  // The first comparison on each thread waits (bounded) until a second thread compares too:
  // a serial sort would never get there and fail on the timeout.
  std::mutex m;
  std::vector<std::thread::id> threads;
  std::atomic<bool> two_threads{false};
  std::atomic<bool> timed_out{false};
  auto by_key = [&](const move_only_keyed& a, const move_only_keyed& b) {
    if (!two_threads.load(std::memory_order_acquire)) {
      bool first_here = false;
      {
        std::lock_guard lock(m);
        const auto me = std::this_thread::get_id();
        if (std::find(threads.begin(), threads.end(), me) == threads.end()) {
          threads.push_back(me);
          first_here = true;
          if (threads.size() >= 2) two_threads.store(true, std::memory_order_release);
        }
      }
      if (first_here && !cohort_test::poll_until([&] { return two_threads.load(); }))
        timed_out = true;
    }
    return a.key < b.key;
  };
  cohort::stable_sort(s, v, by_key);
  EXPECT_FALSE(timed_out) << "only one thread ever compared: the sort ran serially";
  std::vector<std::pair<std::int64_t, std::size_t>> want(n);
  for (std::size_t i = 0; i < n; ++i) want[i] = {keys[i], i};
  std::stable_sort(want.begin(), want.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  ASSERT_EQ(v.size(), n);
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(v[i].index) << "element " << i << " lost its payload";
    ASSERT_EQ(v[i].key, want[i].first) << i;
    ASSERT_EQ(*v[i].index, want[i].second) << "not stable at " << i;
  }
}

TEST(algorithm_find, find_if_returns_the_lowest_index_match) {
  cohort::scheduler s({.workers = 3, .name = "af"});
  for (auto part : all_partitions) {
    for (std::size_t n : awkward_sizes()) {
      auto v = random_values(n, n + 7, 1000);
      for (std::int64_t target : {std::int64_t{999}, std::int64_t{-1000}, std::int64_t{5000}}) {
        auto pred = [&](std::int64_t x) { return x >= target; };
        auto want = std::find_if(v.begin(), v.end(), pred);
        auto got = cohort::find_if(s, v, pred, {.split = part});
        ASSERT_EQ(got - v.begin(), want - v.begin()) << "n=" << n << " target=" << target;
        EXPECT_EQ(cohort::any_of(s, v, pred), std::any_of(v.begin(), v.end(), pred));
        EXPECT_EQ(cohort::all_of(s, v, pred), std::all_of(v.begin(), v.end(), pred));
        EXPECT_EQ(cohort::none_of(s, v, pred), std::none_of(v.begin(), v.end(), pred));
      }
    }
  }
}

TEST(algorithm_find, matches_everywhere_still_give_the_first) {
  cohort::scheduler s({.workers = 3, .name = "af"});
  const std::size_t n = scaled(1'000'003, 20'011);
  std::vector<int> v(n, 0);
  for (std::size_t i = n / 3; i < n; i += 17) v[i] = 1;
  for (int round = 0; round < 20; ++round) {
    auto it = cohort::find_if(s, v, [](int x) { return x == 1; });
    ASSERT_EQ(static_cast<std::size_t>(it - v.begin()), n / 3);
  }
}

// Every element past the match waits (bounded) until the match was seen before the
// predicate looks at it, so the other worker cannot search far before the match is found
// (a preempted matcher once let it search most of the range first: a timing-dependent
// failure). What is left is a few instructions between the predicate's `true` and the
// search lowering its bound, which n / 4 leaves room for; a search that goes on past a
// match it found looks at nearly every element.
TEST(algorithm_find, find_stops_looking_past_an_early_match) {
  cohort::scheduler s({.workers = 2, .name = "af"});
  const std::size_t n = scaled(4'000'000, 100'000);
  constexpr std::size_t match = 10;
  std::atomic<std::size_t> looked_past_match{0};
  std::atomic<bool> matched{false}, gave_up_waiting{false};
  std::vector<std::size_t> v(n);
  std::iota(v.begin(), v.end(), std::size_t{0});
  auto it = cohort::find_if(s, v, [&](std::size_t i) {
    if (i == match) {
      matched.store(true, std::memory_order_release);
      return true;
    }
    if (i < match) return false;
    if (!gave_up_waiting.load(std::memory_order_relaxed) &&
        !cohort_test::poll_until([&] { return matched.load(std::memory_order_acquire); }))
      gave_up_waiting.store(true, std::memory_order_relaxed);
    looked_past_match.fetch_add(1, std::memory_order_relaxed);
    return false;
  });
  EXPECT_EQ(it - v.begin(), static_cast<std::ptrdiff_t>(match));
  EXPECT_FALSE(gave_up_waiting.load()) << "the element that matches never ran";
  EXPECT_LT(looked_past_match.load(), n / 4) << "the search went on far past the match";
}

TEST(algorithm_scheduler, ambient_calls_inside_a_task_run_on_its_scheduler) {
  cohort::scheduler s({.workers = 2, .name = "amb"});
  std::atomic<int> on_worker{0};
  cohort::task_group g(s);
  g.spawn([&] {
    cohort::for_each_index(0, 1000, [&](int) {
      // A worker of s, or this test's thread running the outer task in its slot.
      if (cohort_test::runs_on(s)) ++on_worker;
    });
  });
  g.join();
  EXPECT_EQ(on_worker.load(), 1000);
  std::vector<int> v(1000, 1);
  EXPECT_EQ(cohort::reduce(v, 0), 1000);  // from outside: the default scheduler
}

}  // namespace
