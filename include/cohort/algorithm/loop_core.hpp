// SPDX-License-Identifier: Apache-2.0
// What every parallel algorithm shares: loop_options, and the loop's scope.
//
// A loop is one scope that owns its pieces (detail/range_split.hpp cuts them): a frame in
// the cancellation chain (child of the task that runs the loop, so an outside cancel
// reaches it), the failures of its elements, and whether any element was skipped. After
// every piece joined, finish() decides how the loop ends, in the order a group's join()
// uses: failures -> task_group_error (index order, names "name[index]"); an element
// skipped by a cancel -> task_cancelled (turned into timeout_error by the deadline
// wrapper when the loop's own deadline caused it). A cancel that arrives after every
// element ran changes nothing.
//
// Memory ordering: every piece completes through a completion word (acq_rel exchange,
// acquire load by the joiner), so everything the elements wrote happens-before the loop
// returns, and the loop state's relaxed flags are read after that join.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <exception>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <cohort/detail/failure.hpp>
#include <cohort/detail/fork_join.hpp>
#include <cohort/detail/range_split.hpp>
#include <cohort/detail/stop.hpp>
#include <cohort/errors.hpp>
#include <cohort/options.hpp>
#include <cohort/scheduler.hpp>
#include <cohort/task_group.hpp>

namespace cohort {

/// How a parallel algorithm cuts its index range into pieces (loop_options::split).
/// Every policy gives the same results for loops; they differ in load balance and, for
/// reduce, transform_reduce and the scans, in how partial results are grouped.
enum class partition {
  adaptive,      ///< split on demand: pieces are cut further when thieves take them
  static_split,  ///< one contiguous piece per worker (ignores grain)
  deterministic  ///< a split tree fixed by (n, grain) alone: reductions and scans give the
                 ///< same bits for every worker count and every run
};

/// Options every parallel algorithm takes last (for_each_index ... stable_sort). The
/// defaults need no tuning: `{}` splits on demand, stops at the first failure and has no
/// deadline.
/// Example:
/// @code
/// using namespace std::chrono_literals;
/// cohort::for_each(rows, render, {.timeout = 2s, .name = "rows"});
/// double s = cohort::reduce(v, 0.0, std::plus<>{}, {.split = cohort::partition::deterministic});
/// @endcode
struct loop_options {
  /// 0: automatic (no tuning needed). Else pieces of at most `grain` elements (adaptive,
  /// deterministic; static_split ignores it), for_each_chunk calls of at most `grain`
  /// elements, scan blocks of `grain` elements (adaptive: at most), and the leaf size of
  /// sort and stable_sort.
  std::size_t grain = 0;
  /// How the range is cut into pieces; see partition.
  partition split = partition::adaptive;
  /// cancel_siblings: the first failure stops the loop from starting more pieces and
  /// requests the stop tokens of running bodies. keep_going: every element runs.
  /// Either way every failure is reported in one task_group_error, in index order.
  failure_policy on_failure = failure_policy::cancel_siblings;
  /// A deadline for the whole loop, counted from the call: when it passes, no more pieces
  /// start, running bodies see their stop token, and the loop throws timeout_error (unless
  /// an element failed). A deadline that passes after the last element ended changes
  /// nothing.
  std::optional<std::chrono::nanoseconds> timeout{};
  /// Names failures in task_group_error::names() as "name[index]" ("[index]" when empty);
  /// with a timeout, also the name of the group that carries the deadline in dump().
  std::string name{};
};

namespace detail {

// The automatic grain of partition::deterministic: a function of n alone (never of the
// worker count), about 256 pieces of at least 1024 elements.
inline std::size_t deterministic_grain(std::size_t n) noexcept {
  return std::max<std::size_t>(1024, (n + 255) / 256);
}

inline splitter splitter_for(const loop_options& o, pool& p, std::size_t n) {
  switch (o.split) {
    case partition::static_split:
      return splitter::static_parts(pool_size(p));
    case partition::deterministic:
      return splitter::fixed(o.grain != 0 ? o.grain : deterministic_grain(n));
    case partition::adaptive:
    default:
      return splitter::adaptive(pool_size(p), o.grain);
  }
}

// How a failure names its element in task_group_error::names(): "name[index]".
inline std::string element_name(const loop_options& o, const std::string& index) {
  std::string name = o.name;
  return name.append("[").append(index).append("]");
}

// The state of one running loop; lives on the frame of the call.
class loop_state {
 public:
  // `algorithm` names the loop's stolen pieces in dump() and traces when it has no name.
  loop_state(const loop_options& o, const char* algorithm)
      : frame(o.on_failure == failure_policy::keep_going),
        options(o),
        label(o.name.empty() ? std::string_view(algorithm) : std::string_view(o.name)) {}
  loop_state(const loop_state&) = delete;
  loop_state& operator=(const loop_state&) = delete;

  bool keep_going() const noexcept { return frame.settled; }

  // How finish() writes an element's index in its name; by default its position k in the
  // range. for_each_index and for_each_chunk name the user's index (first + k) instead.
  std::string (*index_text)(const void* context, std::size_t position) = nullptr;
  const void* index_context = nullptr;

  // Runs `body`, user code for the elements from `at` on (at moves as they run), through
  // run_capturing (failure.hpp). False if it threw: then the element at `at` failed or
  // observed a cancel (fail() has recorded which).
  template <class Body>
  [[gnu::always_inline]] bool run_user_code(const std::size_t& at, Body&& body) noexcept {
    std::exception_ptr error;
    const run_outcome outcome = run_capturing(body, error);
    if (outcome == run_outcome::returned) [[likely]]
      return true;
    fail(at, outcome, std::move(error));
    return false;
  }

  // Element `index` threw `e` (`outcome`: run_capturing's classification; a cancel it
  // observed is not a failure).
  void fail(std::size_t index, run_outcome outcome, std::exception_ptr e) noexcept {
    if (outcome == run_outcome::cancelled) {
      note_skipped();
      return;
    }
    failed_.store(true, std::memory_order_relaxed);
    try {
      std::lock_guard lock(failures_mutex_);
      failures_.emplace_back(index, std::move(e));
    } catch (...) {  // out of memory keeping it: still a failure, named by index alone
      lost_failure_.store(true, std::memory_order_relaxed);
    }
    frame.on_failure();
  }
  // True once an element failed (relaxed: a hint to stop early; finish() reads the list).
  bool failed() const noexcept { return failed_.load(std::memory_order_relaxed); }
  // Some element did not run because the loop was cancelled.
  // relaxed: read by finish() only after every piece joined (completion words order it).
  void note_skipped() noexcept { skipped_.store(true, std::memory_order_relaxed); }

  // After every piece joined: throws how the loop ended, or returns if it ran everything.
  void finish(std::size_t total) {
    if (!failures_.empty() || lost_failure_.load(std::memory_order_relaxed)) {
      std::stable_sort(failures_.begin(), failures_.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      std::vector<std::exception_ptr> errors;
      std::vector<std::string> names;
      errors.reserve(failures_.size() + 1);
      names.reserve(failures_.size() + 1);
      for (auto& [index, error] : failures_) {
        errors.push_back(std::move(error));
        names.push_back(element_name(
            options, index_text ? index_text(index_context, index) : std::to_string(index)));
      }
      if (errors.empty()) {
        errors.push_back(std::make_exception_ptr(std::bad_alloc()));
        names.push_back(element_name(options, "?"));
      }
      throw task_group_error(std::move(errors), std::move(names), total, "element");
    }
    if (skipped_.load(std::memory_order_relaxed)) throw task_cancelled();
  }

  gather_frame frame;  // keep_going: a failure does not cancel the rest
  const loop_options& options;
  const std::string_view label;  // "label[lo,hi)" names a stolen piece (dump, trace)

 private:
  std::mutex failures_mutex_;
  std::vector<std::pair<std::size_t, std::exception_ptr>> failures_;
  std::atomic<bool> lost_failure_{false};
  std::atomic<bool> skipped_{false};
  std::atomic<bool> failed_{false};
};

// A failure of user code after the loop's loop_state is gone (the move that hands
// reduce's result to the caller): throws what finish() throws for that one failure at
// `index` (task_group_error; a task_cancelled it threw stays one).
[[noreturn]] inline void throw_loop_failure(const loop_options& o, std::size_t index,
                                            std::size_t total, std::exception_ptr e) {
  if (is_cancellation(e)) std::rethrow_exception(e);
  std::vector<std::exception_ptr> errors{std::move(e)};
  std::vector<std::string> names{element_name(o, std::to_string(index))};
  throw task_group_error(std::move(errors), std::move(names), total, "element");
}

// Runs call(i) for every i in [lo, hi), one leaf of a loop: cancellation checked every
// cancel_check_stride elements; under cancel_siblings one try block for the whole leaf
// (the loop inside stays tight enough to vectorize; a failure ends the leaf), under
// keep_going every element runs whatever its neighbours did.
template <class Call>
void run_elements(loop_state& st, std::size_t lo, std::size_t hi, Call& call) noexcept {
  std::size_t i = lo;
  while (i < hi) {
    const bool returned = st.run_user_code(i, [&] {
      while (i < hi) {
        if (st.frame.cancelled()) {
          st.note_skipped();
          return;
        }
        if (hi - i >= cancel_check_stride) {
          // A full stride: a trip count the compiler knows (no remainder loop per stride).
          const std::size_t end = i + cancel_check_stride;
          for (; i != end; ++i) call(i);
        } else {
          for (; i < hi; ++i) call(i);
        }
      }
    });
    if (returned || !st.keep_going()) return;  // done, skipped, or a failure ends the leaf
    ++i;
  }
}

// Runs leaf(token) with a stop token that fires when the loop is cancelled, or leaf()
// when the body takes none (tokens cost a registration, so only bodies asking pay).
template <bool WithToken, class Leaf>
void with_stop_token(loop_state& st, std::size_t lo, Leaf&& leaf) noexcept {
  if constexpr (WithToken) {
    try {
      stop_scope scope(&st.frame);
      leaf(scope.token());
    } catch (...) {  // registering the token failed (out of memory): not the user's code
      st.fail(lo, run_outcome::failed, std::current_exception());
    }
  } else {
    leaf();
  }
}

// Runs `run` (which builds a loop_state, splits the loop and calls finish) on a worker of
// `p`: here when the caller is one, else through run_in_pool.
template <class Run>
auto run_on_pool(pool& p, Run& run) {
  if (on_pool(p)) return run();
  return run_in_pool(p, run);
}

// With a deadline: the loop runs as the one child of a group with cancel_after, so the
// deadline cancels it through the chain (stop tokens included) like any cancel.
template <class Run>
auto run_with_deadline(pool& p, std::chrono::nanoseconds d, const std::string& name, Run& run) {
  using R = std::invoke_result_t<Run&>;
  std::optional<std::conditional_t<std::is_void_v<R>, std::monostate, R>> result;
  std::exception_ptr error;
  run_outcome outcome = run_outcome::returned;
  auto rethrow_failure = [&] {
    if (outcome == run_outcome::failed) std::rethrow_exception(error);
  };
  {
    task_group g(scheduler_of(p), group_options{.name = name});
    g.cancel_after(d);
    g.spawn([&] {
      outcome = run_capturing(
          [&] {
            if constexpr (std::is_void_v<R>) {
              run();
              result.emplace();
            } else {
              result.emplace(run());
            }
          },
          error);
    });
    try {
      g.join();
    } catch (const timeout_error&) {  // the deadline passed: it matters only if the loop
      rethrow_failure();              // did not get to the end
      if (!result) throw;
    } catch (const task_cancelled&) {  // cancelled from outside
      rethrow_failure();
      if (!result) throw;
    }
  }
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<R>) return std::move(*result);
}

// Runs a loop under its options: on a worker of `p`, under the deadline if it has one.
template <class Run>
auto run_loop(pool& p, const loop_options& o, Run&& run) {
  if (o.timeout) return run_with_deadline(p, *o.timeout, o.name, run);
  return run_on_pool(p, run);
}

// ---- partial results -----------------------------------------------------------------

// A partial result on the heap: moving the box moves a pointer (never throws); the value
// itself is built by emplace(), which the caller runs inside run_user_code.
template <class T>
class boxed_value {
 public:
  template <class... Args>
  T& emplace(Args&&... args) {
    value_ = std::make_unique<T>(std::forward<Args>(args)...);
    return *value_;
  }
  explicit operator bool() const noexcept { return value_ != nullptr; }
  T& operator*() const noexcept { return *value_; }

 private:
  std::unique_ptr<T> value_;
};

// What a piece hands on to the next (a reduction's partial result, a scan block's carry):
// empty when the piece failed or was cancelled. The splitter moves it between pieces
// inside noexcept jobs (split_job, run_offering), where a throwing move would call
// std::terminate; so a type whose move constructor or move assignment may throw travels
// boxed, and only its own construction (emplace) runs user code, inside the loop's
// failure capture. Types with noexcept moves (numbers, std::string, std::vector) stay in
// place: their inner loops do not change.
template <class T>
using piece_value = std::conditional_t<std::is_nothrow_move_constructible_v<T> &&
                                           std::is_nothrow_move_assignable_v<T>,
                                       std::optional<T>, boxed_value<T>>;

// ---- ranges and indices --------------------------------------------------------------

template <class R>
concept loop_range = std::ranges::random_access_range<R> && std::ranges::sized_range<R>;

template <class R>
std::size_t range_count(R& r) {
  return static_cast<std::size_t>(std::ranges::size(r));
}

// The element i of a random access range, through its iterator.
template <class It>
decltype(auto) element_at(const It& first, std::size_t i) {
  return first[static_cast<std::iter_difference_t<It>>(i)];
}

template <std::integral I>
std::size_t index_count(I first, I last, const char* who) {
  if (last < first) throw std::invalid_argument(std::string("cohort::") + who + ": last < first");
  using U = std::make_unsigned_t<I>;
  // The cast back to U matters for narrow types, which the subtraction promotes to int.
  return static_cast<std::size_t>(static_cast<U>(static_cast<U>(last) - static_cast<U>(first)));
}
// first + i, computed without signed overflow (the result is within [first, last)).
template <std::integral I>
I index_at(I first, std::size_t i) noexcept {
  using U = std::make_unsigned_t<I>;
  return static_cast<I>(static_cast<U>(static_cast<U>(first) + static_cast<U>(i)));
}

// An output iterator whose elements are distinct objects the loop may write concurrently
// (not a proxy such as std::vector<bool>::iterator, whose writes share words).
template <class O>
inline constexpr bool writable_in_place =
    std::random_access_iterator<O>&& std::is_lvalue_reference_v<std::iter_reference_t<O>> &&
    !std::is_const_v<std::remove_reference_t<std::iter_reference_t<O>>>;

}  // namespace detail
}  // namespace cohort
