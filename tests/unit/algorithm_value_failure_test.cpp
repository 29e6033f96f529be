// SPDX-License-Identifier: Apache-2.0
// A value type's own copies, moves, assignments and comparisons are user code. When one
// throws inside a parallel algorithm (a scan's carry, a reduction's partial result handed
// from piece to piece, a sort's buffer, transform's buffered output), the call throws the
// loop's one task_group_error naming the piece, exactly as for a failing element: it
// never terminates, never leaks a value, and never returns a result built from a value
// whose copy failed half-way.
//
// How: `fragile` values count their live objects, and one operation of theirs (copy or
// move construction, copy or move assignment, or the comparator) throws on its k-th call,
// counted across threads, once. Each algorithm runs under every partition, keep_going,
// on 1 and 3 workers, for k = 0, 1, and spread over the calls a clean run makes.
#include <cohort/algorithm.hpp>
#include <cohort/scheduler.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <functional>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace {

using cohort_test::boom;
using cohort_test::scaled;

constexpr bool under_sanitizer = cohort_test::under_tsan || cohort_test::under_asan;

// The operations a fuse may be set on.
enum class special { copy_construct, move_construct, copy_assign, move_assign, compare };

const char* text(special s) {
  switch (s) {
    case special::copy_construct:
      return "copy constructor";
    case special::move_construct:
      return "move constructor";
    case special::copy_assign:
      return "copy assignment";
    case special::move_assign:
      return "move assignment";
    case special::compare:
    default:
      return "comparator";
  }
}

// The fuse: while lit, the call of `which` that finds `left` at 0 throws boom("fuse")
// (once: `left` goes on below 0). Shared by all threads (the operations run on workers).
struct fuse_state {
  std::atomic<special> which{special::copy_construct};
  std::atomic<bool> lit{false};
  std::atomic<long> left{0};
  std::atomic<bool> fired{false};
};
fuse_state fuse;

void tick(special s) {
  if (!fuse.lit.load(std::memory_order_relaxed) || fuse.which.load(std::memory_order_relaxed) != s)
    return;
  if (fuse.left.fetch_sub(1, std::memory_order_relaxed) == 0) {
    fuse.fired.store(true, std::memory_order_relaxed);
    throw boom("fuse");
  }
}
// Lights the fuse for the k-th call of `which`; a huge k only counts.
void light(special which, long k) {
  fuse.which.store(which);
  fuse.left.store(k);
  fuse.fired.store(false);
  fuse.lit.store(true);
}
void put_out() {
  fuse.lit.store(false);
}

// Values alive: every case ends with 0 (a leak, or a value destroyed twice, shows).
std::atomic<long> live{0};
// What a moved-from value reads as: far from any sum the tests compute.
constexpr long empty_value = 1'000'000'007'000L;

// Which of the special members may throw, and whether there is a default constructor.
struct all_throw {  // every copy, move and assignment may throw: results move through boxes
  static constexpr bool nothrow_move_construct = false, nothrow_move_assign = false;
  static constexpr bool default_constructible = true;
};
struct copies_throw {  // only copies throw: results move in place (std::optional)
  static constexpr bool nothrow_move_construct = true, nothrow_move_assign = true;
  static constexpr bool default_constructible = true;
};
struct move_assign_throws_no_default {  // stable_sort's raw buffer must not be built for it
  static constexpr bool nothrow_move_construct = true, nothrow_move_assign = false;
  static constexpr bool default_constructible = false;
};
struct nothrow_moves_no_default {  // stable_sort's raw buffer, built by moves
  static constexpr bool nothrow_move_construct = true, nothrow_move_assign = true;
  static constexpr bool default_constructible = false;
};

// A long on the heap (so a leak or a double destruction shows under ASan too).
template <class Traits>
class fragile {
 public:
  fragile() requires Traits::default_constructible : fragile(0) {}
  explicit fragile(long v) : p_(new long(v)) { live.fetch_add(1, std::memory_order_relaxed); }
  fragile(const fragile& o) {
    tick(special::copy_construct);
    p_ = o.p_ != nullptr ? new long(*o.p_) : nullptr;
    live.fetch_add(1, std::memory_order_relaxed);
  }
  fragile(fragile&& o) noexcept(Traits::nothrow_move_construct) {
    if constexpr (!Traits::nothrow_move_construct) tick(special::move_construct);
    p_ = std::exchange(o.p_, nullptr);
    live.fetch_add(1, std::memory_order_relaxed);
  }
  fragile& operator=(const fragile& o) {
    tick(special::copy_assign);
    if (this != &o) {
      long* q = o.p_ != nullptr ? new long(*o.p_) : nullptr;
      delete p_;
      p_ = q;
    }
    return *this;
  }
  fragile& operator=(fragile&& o) noexcept(Traits::nothrow_move_assign) {
    if constexpr (!Traits::nothrow_move_assign) tick(special::move_assign);
    if (this != &o) {
      delete p_;
      p_ = std::exchange(o.p_, nullptr);
    }
    return *this;
  }
  ~fragile() {
    delete p_;
    live.fetch_sub(1, std::memory_order_relaxed);
  }
  long value() const { return p_ != nullptr ? *p_ : empty_value; }
  friend fragile operator+(const fragile& a, const fragile& b) {
    return fragile(a.value() + b.value());
  }

 private:
  long* p_ = nullptr;
};

struct by_value {
  template <class F>
  bool operator()(const F& a, const F& b) const {
    tick(special::compare);
    return a.value() < b.value();
  }
};

template <class F>
std::vector<F> make_values(std::size_t n) {
  std::vector<F> v;
  v.reserve(n);  // no reallocation: building the input copies and moves nothing
  for (std::size_t i = 0; i < n; ++i) v.emplace_back(static_cast<long>((i * 7919) % 1013));
  return v;
}
long value_at(std::size_t i) {
  return static_cast<long>((i * 7919) % 1013);
}

struct config {
  const char* label;
  cohort::loop_options options;
};
std::vector<config> configs(std::size_t grain) {
  using cohort::failure_policy;
  using cohort::partition;
  return {
      {"adaptive", {.grain = grain, .name = "vals"}},
      {"adaptive, no grain", {.name = "vals"}},
      {"static_split", {.split = partition::static_split, .name = "vals"}},
      {"deterministic", {.grain = grain, .split = partition::deterministic, .name = "vals"}},
      {"keep_going", {.grain = grain, .on_failure = failure_policy::keep_going, .name = "vals"}},
  };
}

// Checks the failure a lit fuse caused: one exception, boom("fuse"), named "vals[i]" with
// i < n; what() says which of how many failed.
void expect_one_fuse_failure(const cohort::task_group_error& e, std::size_t n,
                             const std::string& where) {
  ASSERT_EQ(e.exceptions().size(), 1u) << where;
  ASSERT_EQ(e.names().size(), 1u) << where;
  EXPECT_EQ(cohort_test::what_of(e.exceptions()[0]), "fuse") << where;
  const std::string& name = e.names()[0];
  ASSERT_TRUE(name.size() > 6 && name.rfind("vals[", 0) == 0 && name.back() == ']')
      << where << ": " << name;
  const std::size_t index = std::stoul(name.substr(5, name.size() - 6));
  EXPECT_LT(index, n) << where << ": " << name;
  const std::string what = e.what();
  EXPECT_EQ(
      what.rfind("1 of " + std::to_string(n) + " elements failed; first: " + name + ": fuse", 0),
      0u)
      << where << ": " << what;
}

// Runs `once` (builds its input, calls light_now() right before the algorithm, checks the
// result if the algorithm returns) with the fuse counting only, then with the fuse lit at
// k = 0, 1 and spread over the calls that run made. A fuse that fired must make the call
// throw task_group_error (expect_one_fuse_failure); one that did not must leave a correct
// result; either way no value is left alive. Returns how many calls of `which` the
// counting run made (0: the algorithm never calls it for this type).
template <class Once>
long sweep(special which, std::size_t n, const std::string& where, Once once) {
  long calls = 0;
  {
    constexpr long never = LONG_MAX / 2;
    auto light_now = [&] { light(which, never); };
    once(light_now);
    calls = never - fuse.left.load();
    put_out();
    EXPECT_EQ(live.load(), 0) << where << ": counting run";
  }
  if (calls == 0) return 0;
  // Under a sanitizer (5-15x slower) three places of the fuse, not six: CI's budget.
  std::set<long> ks = under_sanitizer
                          ? std::set<long>{0, calls / 2, calls - 1}
                          : std::set<long>{0, 1, calls / 5, calls / 2, calls - 2, calls - 1};
  for (long k : ks) {
    if (k < 0 || k >= calls) continue;
    const std::string at = where + ", " + text(which) + " throws at call " + std::to_string(k) +
                           " of " + std::to_string(calls);
    auto light_now = [&] { light(which, k); };
    try {
      once(light_now);
      put_out();
      EXPECT_FALSE(fuse.fired.load()) << at << ": the call returned after a throw";
    } catch (const cohort::task_group_error& e) {
      put_out();
      EXPECT_TRUE(fuse.fired.load()) << at;
      expect_one_fuse_failure(e, n, at);
    } catch (const std::exception& e) {
      put_out();
      ADD_FAILURE() << at << ": not a task_group_error: " << e.what();
    }
    EXPECT_EQ(live.load(), 0) << at << ": values leaked or destroyed twice";
  }
  return calls;
}

const special value_specials[] = {special::copy_construct, special::move_construct,
                                  special::copy_assign, special::move_assign};

// Sweeps every special of the value type, every config, on 1 and 3 workers; `run(s, opts,
// light_now)` is one run. Expects some special to be called at all (else the test would
// test nothing).
template <class F, class Run>
void sweep_all(const char* algorithm, std::size_t n, std::size_t grain, Run run,
               bool with_comparator = false) {
  long total_calls = 0;
  // Under a sanitizer only 3 workers: the release run covers 1 (where the raw reduce
  // throw used to crash) and 3.
  const std::vector<std::size_t> worker_counts =
      under_sanitizer ? std::vector<std::size_t>{3} : std::vector<std::size_t>{1, 3};
  for (std::size_t workers : worker_counts) {
    cohort::scheduler s({.workers = workers, .name = "vf"});
    for (const config& c : configs(grain)) {
      const std::string where =
          std::string(algorithm) + ", " + c.label + ", " + std::to_string(workers) + " workers";
      auto once = [&](auto& light_now) { run(s, c.options, light_now); };
      for (special which : value_specials) total_calls += sweep(which, n, where, once);
      if (with_comparator) total_calls += sweep(special::compare, n, where, once);
    }
  }
  EXPECT_GT(total_calls, 0) << algorithm << ": no special member was called";
}

std::size_t small_n() {
  return scaled(5003, 1201);
}
// sort and stable_sort run in parallel from 16384 elements.
std::size_t sort_n() {
  return scaled(20011, 17011);
}

template <class F>
void reduce_case() {
  const std::size_t n = small_n();
  long expected = 3;
  for (std::size_t i = 0; i < n; ++i) expected += value_at(i);
  sweep_all<F>("reduce", n, 61,
               [&](cohort::scheduler& s, const cohort::loop_options& o, auto& light_now) {
                 auto v = make_values<F>(n);
                 light_now();
                 // init a prvalue: the parameter is built in place (a copy would be the caller's
                 // own).
                 F total = cohort::reduce(s, v, F(3), std::plus<>{}, o);
                 put_out();
                 EXPECT_EQ(total.value(), expected);
               });
}

template <class F>
void transform_reduce_case() {
  const std::size_t n = small_n();
  long expected = 3;
  for (std::size_t i = 0; i < n; ++i) expected += 2 * value_at(i);
  sweep_all<F>("transform_reduce", n, 61,
               [&](cohort::scheduler& s, const cohort::loop_options& o, auto& light_now) {
                 auto v = make_values<F>(n);
                 light_now();
                 F total = cohort::transform_reduce(
                     s, v, F(3), std::plus<>{}, [](F x) { return x + x; }, o);
                 put_out();
                 EXPECT_EQ(total.value(), expected);
               });
}

template <class F, bool Inclusive, bool InPlace>
void scan_case(const char* algorithm) {
  const std::size_t n = small_n();
  std::vector<long> expected(n);
  long acc = Inclusive ? 0 : 5;
  for (std::size_t i = 0; i < n; ++i) {
    if (Inclusive) acc += value_at(i);
    expected[i] = acc;
    if (!Inclusive) acc += value_at(i);
  }
  sweep_all<F>(algorithm, n, 61,
               [&](cohort::scheduler& s, const cohort::loop_options& o, auto& light_now) {
                 auto v = make_values<F>(n);
                 auto out_storage = InPlace ? std::vector<F>{} : make_values<F>(n);
                 auto out = InPlace ? v.begin() : out_storage.begin();
                 light_now();
                 if constexpr (Inclusive) {
                   cohort::inclusive_scan(s, v, out, std::plus<>{}, o);
                 } else {
                   cohort::exclusive_scan(s, v, out, F(5), std::plus<>{}, o);
                 }
                 put_out();
                 for (std::size_t i = 0; i < n; ++i)
                   ASSERT_EQ(out[i].value(), expected[i]) << "i=" << i;
               });
}

// How the failed sorts left their ranges, over a whole sweep: a throwing comparator or
// move may leave a std:: leaf sort or merge holding an element aside (the basic guarantee
// std::sort gives), so a failed sort need not leave a permutation.
struct sort_aftermath {
  std::size_t failed = 0;
  std::size_t permutations = 0;
  std::size_t most_lost = 0;  // moved-from values left in the range by one failed sort
};

template <class F, bool Stable>
void sort_case(const char* algorithm) {
  const std::size_t n = sort_n();
  std::multiset<long> input_values;
  for (std::size_t i = 0; i < n; ++i) input_values.insert(value_at(i));
  sort_aftermath after;
  sweep_all<F>(
      algorithm, n, 2048,
      [&](cohort::scheduler& s, const cohort::loop_options& o, auto& light_now) {
        auto v = make_values<F>(n);
        light_now();
        try {
          if constexpr (Stable) {
            cohort::stable_sort(s, v, by_value{}, o);
          } else {
            cohort::sort(s, v, by_value{}, o);
          }
        } catch (const cohort::task_group_error&) {
          put_out();
          // Every element is a valid value: one of the input's, or a moved-from one.
          ASSERT_EQ(v.size(), n);
          std::multiset<long> seen;
          std::size_t lost = 0;
          for (const F& x : v) {
            ASSERT_TRUE(x.value() == empty_value || input_values.count(x.value()) != 0)
                << x.value();
            seen.insert(x.value());
            lost += x.value() == empty_value;
          }
          ++after.failed;
          after.most_lost = std::max(after.most_lost, lost);
          // sort moves by swaps and std::sort's leaves: one throw strands at most the one
          // element a swap or an insertion held aside. stable_sort may strand a whole
          // merge's rest (std::stable_sort's own buffer, a merge cut short).
          if (!Stable) {
            EXPECT_LE(lost, 1u);
          }
          if (seen == input_values) ++after.permutations;
          throw;
        }
        put_out();
        for (std::size_t i = 1; i < n; ++i) ASSERT_LE(v[i - 1].value(), v[i].value()) << i;
        std::multiset<long> seen;
        for (const F& x : v) seen.insert(x.value());
        EXPECT_EQ(seen, input_values);
      },
      true);
  ::testing::Test::RecordProperty("failed_sorts", static_cast<int>(after.failed));
  ::testing::Test::RecordProperty("left_a_permutation", static_cast<int>(after.permutations));
  std::printf(
      "%s: %zu failed sorts, %zu of them left a permutation; at most %zu of %zu "
      "elements lost\n",
      algorithm, after.failed, after.permutations, after.most_lost, n);
}

template <class F, bool Buffered>
void transform_case(const char* algorithm) {
  const std::size_t n = small_n();
  sweep_all<F>(
      algorithm, n, 61, [&](cohort::scheduler& s, const cohort::loop_options& o, auto& light_now) {
        auto v = make_values<F>(n);
        auto plus_one = [](F x) { return x + F(1); };  // by value: a copy of the user's own
        if constexpr (Buffered) {
          std::vector<F> out;  // grows by push_back: its reallocations copy or move too
          light_now();
          cohort::transform(s, v, std::back_inserter(out), plus_one, o);
          put_out();
          ASSERT_EQ(out.size(), n);
          for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(out[i].value(), value_at(i) + 1) << i;
        } else {
          auto out = make_values<F>(n);
          light_now();
          cohort::transform(s, v, out.begin(), plus_one, o);
          put_out();
          for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(out[i].value(), value_at(i) + 1) << i;
        }
      });
}

// Bodies and predicates that copy their element: user code, already in the capture; here
// so that every algorithm is covered.
template <class F>
void for_each_and_find_case() {
  const std::size_t n = small_n();
  sweep_all<F>("for_each", n, 61,
               [&](cohort::scheduler& s, const cohort::loop_options& o, auto& light_now) {
                 auto v = make_values<F>(n);
                 light_now();
                 cohort::for_each(
                     s, v, [](F& x) { x = F(x) + F(1); }, o);
                 put_out();
                 for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(v[i].value(), value_at(i) + 1) << i;
               });
  const long target = value_at(n - 3);
  std::size_t first_match = 0;
  while (value_at(first_match) != target) ++first_match;
  sweep_all<F>("find_if", n, 61,
               [&](cohort::scheduler& s, const cohort::loop_options& o, auto& light_now) {
                 auto v = make_values<F>(n);
                 light_now();
                 auto it = cohort::find_if(
                     s, v, [&](F x) { return x.value() == target; }, o);
                 put_out();
                 EXPECT_EQ(static_cast<std::size_t>(it - v.begin()), first_match);
               });
  sweep_all<F>("all_of", n, 61,
               [&](cohort::scheduler& s, const cohort::loop_options& o, auto& light_now) {
                 auto v = make_values<F>(n);
                 light_now();
                 const bool all = cohort::all_of(
                     s, v, [](F x) { return x.value() >= 0; }, o);
                 put_out();
                 EXPECT_TRUE(all);
               });
}

using throwing_value = fragile<all_throw>;
using copy_throwing_value = fragile<copies_throw>;
using assign_throwing_value = fragile<move_assign_throws_no_default>;
using no_default_value = fragile<nothrow_moves_no_default>;

TEST(algorithm_value_failure, reduce_reports_a_throwing_copy_or_move) {
  reduce_case<throwing_value>();
  reduce_case<copy_throwing_value>();
  reduce_case<assign_throwing_value>();
}

TEST(algorithm_value_failure, transform_reduce_reports_a_throwing_copy_or_move) {
  transform_reduce_case<throwing_value>();
  transform_reduce_case<copy_throwing_value>();
}

TEST(algorithm_value_failure, inclusive_scan_reports_a_throwing_copy_or_move) {
  scan_case<throwing_value, true, false>("inclusive_scan");
  scan_case<copy_throwing_value, true, false>("inclusive_scan");
  scan_case<assign_throwing_value, true, false>("inclusive_scan");
  scan_case<throwing_value, true, true>("inclusive_scan in place");
}

TEST(algorithm_value_failure, exclusive_scan_reports_a_throwing_copy_or_move) {
  scan_case<throwing_value, false, false>("exclusive_scan");
  scan_case<copy_throwing_value, false, false>("exclusive_scan");
  scan_case<assign_throwing_value, false, false>("exclusive_scan");
  scan_case<copy_throwing_value, false, true>("exclusive_scan in place");
}

TEST(algorithm_value_failure, sort_reports_a_throwing_comparator_or_move) {
  sort_case<throwing_value, false>("sort");
  sort_case<copy_throwing_value, false>("sort");
}

TEST(algorithm_value_failure, stable_sort_reports_a_throwing_comparator_or_move) {
  sort_case<throwing_value, true>("stable_sort");
  sort_case<copy_throwing_value, true>("stable_sort");
}

TEST(algorithm_value_failure,
     stable_sort_without_a_default_constructor_reports_a_throwing_comparator_or_move) {
  sort_case<assign_throwing_value, true>("stable_sort, no default constructor");  // serial
  sort_case<no_default_value, true>("stable_sort, raw buffer");
}

TEST(algorithm_value_failure, transform_reports_a_throwing_copy_or_move) {
  transform_case<throwing_value, false>("transform");
  transform_case<copy_throwing_value, false>("transform");
  transform_case<throwing_value, true>("transform, buffered");
  transform_case<copy_throwing_value, true>("transform, buffered");
}

TEST(algorithm_value_failure, for_each_and_find_if_report_a_throwing_copy) {
  for_each_and_find_case<throwing_value>();
  for_each_and_find_case<copy_throwing_value>();
}

}  // namespace
