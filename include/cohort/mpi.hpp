// SPDX-License-Identifier: Apache-2.0
// cohort::mpi: one loop spread over the ranks of an MPI job (the optional component
// cohort::mpi; the core never includes this header).
//
// What it is: every rank runs its own cohort scheduler; the items of a collective call
// are handed out dynamically, a chunk at a time, from a counter on rank 0; each rank runs
// the chunks it receives on its ambient scheduler (default_scheduler() unless called from
// a task). The failure semantics are a task group's, across ranks.
// Requirements: MPI initialised (construct an environment in main) at a thread level of
// at least MPI_THREAD_FUNNELED; every rank makes the same collective calls in the same
// order with the same n and options; at most one collective at a time per process
// (another one from an item, or from a second thread meanwhile, is a std::logic_error).
// Guarantees:
//  - f(i) (or f(i, std::stop_token)) runs exactly once for each i in [0, n) on some rank,
//    unless the call is stopped (a failure under cancel_siblings, the deadline, a cancel).
//  - Workers never call MPI: the thread that made the call drives the communication, or,
//    when that thread is a worker (a call from inside a task), a thread of the call's own
//    does while the worker helps run items; that needs MPI_THREAD_SERIALIZED or more
//    (lib/mpi/README.md: the protocol and the thread model).
//  - Every rank returns the same results, in index order, or throws the same error:
//    task_group_error (every failure in index order; this rank's own failures keep their
//    exception, other ranks' are remote_error), else timeout_error (the deadline passed
//    on some rank), else task_cancelled (the calling task was cancelled on some rank, or
//    an item threw task_cancelled).
//  - Nothing the call started on this rank runs after it returns or throws.
// Example:
//   int main(int argc, char** argv) {
//     cohort::mpi::environment env(argc, argv);
//     std::vector<double> y = cohort::mpi::gather(1'000'000, [](std::size_t i) { return f(i); });
//   }
// Memory ordering: everything the items of this rank did happens-before the call returns;
// other ranks' results arrive as copies.
#pragma once

#include <array>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <cohort/detail/failure.hpp>
#include <cohort/errors.hpp>
#include <cohort/options.hpp>

/// @namespace cohort::mpi
/// One loop spread over the ranks of an MPI job: the optional component `cohort::mpi`
/// (`find_package(cohort COMPONENTS mpi)`, target cohort::mpi; built when CMake finds an
/// MPI implementation). Every rank runs its own cohort scheduler; the items of a
/// collective call (for_each, gather, reduce) are handed out dynamically, a chunk at a
/// time; the failure semantics are a task group's, across ranks. The messages travel on
/// cohort's own duplicate of MPI_COMM_WORLD, so they never mix with the program's.
namespace cohort::mpi {

/// MPI for the length of main. Initialises MPI with MPI_Init_thread(MPI_THREAD_MULTIPLE)
/// unless it is already initialised; when destroyed, frees cohort's communicator, then
/// calls MPI_Finalize if this object initialised MPI.
///
/// Requirements: one, in main, on the thread that will make the collective calls; it
/// outlives every collective call.
/// Thread safety: construct and destroy on one thread; thread_level() from any thread.
/// Example:
/// @code
/// int main(int argc, char** argv) {
///   cohort::mpi::environment env(argc, argv);
///   if (cohort::mpi::rank() == 0) std::puts("started");
/// }
/// @endcode
class environment {
 public:
  /// Initialises MPI (MPI_Init_thread, asking for MPI_THREAD_MULTIPLE) unless it already
  /// is, and checks the granted thread level: below MPI_THREAD_FUNNELED is a
  /// std::runtime_error (MPI finalised again if this call initialised it). An MPI call
  /// that fails: std::runtime_error with MPI's error string.
  environment(int& argc, char**& argv);
  /// Frees cohort's communicator and calls MPI_Finalize if this object initialised MPI;
  /// does nothing if MPI was already finalised.
  ~environment();
  environment(const environment&) = delete;
  environment& operator=(const environment&) = delete;
  /// The thread level MPI granted (an MPI_THREAD_* value): MPI_THREAD_FUNNELED allows
  /// collective calls from the initialising thread only, MPI_THREAD_SERIALIZED or more
  /// also from inside a task.
  int thread_level() const noexcept;

 private:
  bool initialised_here_ = false;
  int level_ = 0;
};

/// This process's rank in MPI_COMM_WORLD. Cached after the first call: safe from any
/// thread, items included. Before MPI is initialised or after it is finalised (and before
/// the first call): std::logic_error.
int rank();
/// The number of ranks in MPI_COMM_WORLD; cached and safe from any thread, as rank().
int size();

/// Options of a collective call. Every rank must pass the same n and the same options
/// (else every rank throws the same std::logic_error before any item runs).
struct distribute_options {
  /// 0: automatic (guided: chunks of about (items left) / (2 x all ranks' workers), so they
  /// shrink toward the end and a rank with slow items takes fewer); else chunks of exactly
  /// `chunk` items (the last one may be shorter).
  std::size_t chunk = 0;
  /// cancel_siblings: a failure on any rank stops every rank from starting new items, and
  /// running items on every rank see their stop token. keep_going: every item runs.
  /// Either way every failure is reported.
  failure_policy on_failure = failure_policy::cancel_siblings;
  /// One deadline for all ranks, counted from each rank's entry: when it passes on any
  /// rank, no more items start and running items everywhere see their stop token; every
  /// rank throws timeout_error (unless an item failed).
  std::optional<std::chrono::nanoseconds> timeout{};
  /// Names failures in task_group_error::names() as "name[index]" ("[index]" when empty).
  std::string name{};
};

/// A failure that happened on another rank. It stands in the task_group_error of a
/// collective call for an exception that stayed on its rank; what() is "rank R, item I: "
/// followed by the original what() (or the description of an exception that is not a
/// std::exception).
/// Thread safety: an immutable value.
class remote_error : public std::runtime_error {
 public:
  /// The failure of item `index` on rank `rank`, whose what() was `original_what`.
  remote_error(int rank, std::size_t index, const std::string& original_what);
  /// The rank the item failed on.
  int rank() const noexcept { return rank_; }
  /// The item that failed (the i of f(i)).
  std::size_t index() const noexcept { return index_; }

 private:
  int rank_;
  std::size_t index_;
};

namespace detail {

// What an item loop needs from the call that runs it. One per chunk task.
class chunk_context {
 public:
  chunk_context(void* call, std::stop_token token) noexcept
      : call_(call), token_(std::move(token)) {}
  // True when no more items may start: the call is stopping on this rank, or this chunk's
  // own stop token was requested.
  bool stopping() const noexcept;
  const std::stop_token& token() const noexcept { return token_; }
  void item_failed(std::size_t index, std::exception_ptr e);
  void item_cancelled(std::size_t index);  // the item threw task_cancelled

 private:
  void* call_;
  std::stop_token token_;
};

// The typed part of a call, behind a virtual interface so the protocol is compiled once.
class body {
 public:
  virtual ~body() = default;
  // Runs items [begin, end) in order; catches every exception per item.
  virtual void run(std::size_t begin, std::size_t end, chunk_context& ctx) = 0;
  // Results of a chunk this rank ran, as bytes for the other ranks; and the way back.
  virtual bool has_results() const noexcept { return false; }
  virtual std::size_t packed_size(std::size_t /*begin*/, std::size_t /*end*/) { return 0; }
  virtual void pack(std::size_t /*begin*/, std::size_t /*end*/, std::byte* /*out*/) {}
  virtual void unpack(std::size_t /*begin*/, std::size_t /*end*/, const std::byte* /*in*/,
                      std::size_t /*size*/) {}
};

// The collective itself (lib/mpi/distribute.cpp): returns when every rank finished, or
// throws what every rank throws.
void distribute(std::size_t n, body& b, const distribute_options& options);

template <class F>
decltype(auto) call_item(F& f, std::size_t i, const std::stop_token& token) {
  if constexpr (std::is_invocable_v<F&, std::size_t, std::stop_token>)
    return f(i, token);
  else
    return f(i);
}

template <class F>
using item_result_t = decltype(call_item(std::declval<F&>(), std::size_t{}, std::stop_token{}));

// Calls store(i, f(i)) for each item while the call is not stopping.
template <class F, class Store>
void run_items(F& f, std::size_t begin, std::size_t end, chunk_context& ctx, Store&& store) {
  for (std::size_t i = begin; i < end; ++i) {
    if (ctx.stopping()) return;
    std::exception_ptr error;
    const cohort::detail::run_outcome outcome = cohort::detail::run_capturing(
        [&] {
          if constexpr (std::is_void_v<item_result_t<F>>) {
            call_item(f, i, ctx.token());
            store(i);
          } else {
            store(i, call_item(f, i, ctx.token()));
          }
        },
        error);
    if (outcome == cohort::detail::run_outcome::cancelled) {
      ctx.item_cancelled(i);
    } else if (outcome == cohort::detail::run_outcome::failed) {
      ctx.item_failed(i, std::move(error));
    }
  }
}

template <class F>
class for_each_body final : public body {
 public:
  explicit for_each_body(F& f) : f_(f) {}
  void run(std::size_t begin, std::size_t end, chunk_context& ctx) override {
    run_items(f_, begin, end, ctx, [](std::size_t, auto&&...) {});
  }

 private:
  F& f_;
};

template <class R>
inline constexpr bool is_exchangeable = std::is_same_v<R, std::string> ||
                                        (std::is_trivially_copyable_v<R> &&
                                         std::is_default_constructible_v<R>);

template <class F, class R>
class gather_body final : public body {
 public:
  gather_body(F& f, std::vector<R>& out) : f_(f), out_(out) {}
  void run(std::size_t begin, std::size_t end, chunk_context& ctx) override {
    run_items(f_, begin, end, ctx,
              [this](std::size_t i, auto&& r) { out_[i] = std::forward<decltype(r)>(r); });
  }
  bool has_results() const noexcept override { return true; }
  std::size_t packed_size(std::size_t begin, std::size_t end) override {
    if constexpr (std::is_same_v<R, std::string>) {
      std::size_t bytes = (end - begin) * sizeof(std::uint64_t);
      for (std::size_t i = begin; i < end; ++i) bytes += out_[i].size();
      return bytes;
    } else {
      return (end - begin) * sizeof(R);
    }
  }
  void pack(std::size_t begin, std::size_t end, std::byte* p) override {
    if constexpr (std::is_same_v<R, std::string>) {
      for (std::size_t i = begin; i < end; ++i) {  // lengths first, then the characters
        const std::uint64_t len = out_[i].size();
        std::memcpy(p, &len, sizeof len);
        p += sizeof len;
      }
      for (std::size_t i = begin; i < end; ++i) {
        if (!out_[i].empty()) std::memcpy(p, out_[i].data(), out_[i].size());
        p += out_[i].size();
      }
    } else if (end > begin) {
      std::memcpy(p, out_.data() + begin, (end - begin) * sizeof(R));
    }
  }
  void unpack(std::size_t begin, std::size_t end, const std::byte* p, std::size_t) override {
    if constexpr (std::is_same_v<R, std::string>) {
      const std::byte* chars = p + (end - begin) * sizeof(std::uint64_t);
      for (std::size_t i = begin; i < end; ++i) {
        std::uint64_t len = 0;
        std::memcpy(&len, p, sizeof len);
        p += sizeof len;
        out_[i].assign(reinterpret_cast<const char*>(chars), static_cast<std::size_t>(len));
        chars += len;
      }
    } else if (end > begin) {
      std::memcpy(out_.data() + begin, p, (end - begin) * sizeof(R));
    }
  }

 private:
  F& f_;
  std::vector<R>& out_;
};

// One partial result per chunk, folded left to right inside the chunk.
template <class T, class M, class Op>
class reduce_body final : public body {
 public:
  reduce_body(M& map, Op& op) : map_(map), op_(op) {}
  void run(std::size_t begin, std::size_t end, chunk_context& ctx) override {
    std::optional<T> acc;
    std::size_t ran = begin;
    run_items(map_, begin, end, ctx, [&](std::size_t i, auto&& v) {
      acc = acc ? T(op_(std::move(*acc), std::forward<decltype(v)>(v)))
                : T(std::forward<decltype(v)>(v));
      ran = i + 1;
    });
    if (acc && ran == end) {
      std::lock_guard lock(mutex_);
      partials_.emplace(begin, std::move(*acc));
    }
  }
  bool has_results() const noexcept override { return true; }
  std::size_t packed_size(std::size_t, std::size_t) override { return sizeof(T); }
  void pack(std::size_t begin, std::size_t, std::byte* p) override {
    std::memcpy(p, &partials_.at(begin), sizeof(T));
  }
  void unpack(std::size_t begin, std::size_t, const std::byte* p, std::size_t) override {
    std::array<std::byte, sizeof(T)> bytes;
    std::memcpy(bytes.data(), p, sizeof(T));
    partials_.emplace(begin, std::bit_cast<T>(bytes));
  }
  T fold(T init) {
    for (auto& [begin, partial] : partials_) init = op_(std::move(init), std::move(partial));
    return init;
  }

 private:
  M& map_;
  Op& op_;
  std::mutex mutex_;  // chunks of this rank end concurrently
  std::map<std::size_t, T> partials_;
};

}  // namespace detail

/// Collective: runs f(i) (or f(i, std::stop_token)) exactly once for each i in [0, n), on
/// some rank, on that rank's ambient scheduler (default_scheduler() unless called from a
/// task); ignores f's result. Every rank, rank 0 included, runs items.
///
/// Requirements: MPI initialised (an environment in main) at MPI_THREAD_FUNNELED or more;
/// every rank makes the same collective calls in the same order with the same n and
/// options; called on the thread that initialised MPI, or, under MPI_THREAD_SERIALIZED or
/// more, on any thread or from inside a task; at most one collective at a time per
/// process. A call that breaks the thread or the one-at-a-time rule (a collective from an
/// item, or from a second thread meanwhile) throws std::logic_error saying so. f is called
/// concurrently from this rank's workers.
/// Guarantees:
///  - Unless the call is stopped (a failure under cancel_siblings, the deadline, a
///    cancel), every item runs exactly once. Workers never call MPI.
///  - Every rank returns, or throws the same error: task_group_error (every failure in
///    index order; this rank's own failures keep their exception, other ranks' are
///    remote_error), else timeout_error (the deadline passed on some rank), else
///    task_cancelled (the calling task was cancelled on some rank, or an item threw
///    task_cancelled).
///  - Nothing the call started on this rank runs after it returns or throws.
/// Memory ordering: everything the items of this rank did happens-before the call returns.
/// A rank that dies is not survived: MPI's error handling ends the job.
/// Example:
/// @code
/// cohort::mpi::for_each(files.size(), [&](std::size_t i) { convert(files[i]); },
///                       {.name = "convert"});
/// @endcode
template <class F>
void for_each(std::size_t n, F f, distribute_options options = {}) {
  detail::for_each_body<F> b(f);
  detail::distribute(n, b, options);
}

/// Collective: runs f(i) (or f(i, std::stop_token)) exactly once for each i in [0, n), on
/// some rank, and every rank returns all n results in index order, {f(0), ..., f(n-1)}.
///
/// Requirements: as for_each(); f's result R (cv and reference removed) is trivially
/// copyable and default constructible, or std::string (else a compile error), so results
/// travel between ranks as bytes; they are sent in pieces beyond MPI's 2 GiB count limit.
/// Guarantees: as for_each().
/// Memory ordering: everything the items of this rank did happens-before the call returns;
/// other ranks' results arrive as copies.
/// Example:
/// @code
/// int main(int argc, char** argv) {
///   cohort::mpi::environment env(argc, argv);
///   std::vector<double> y = cohort::mpi::gather(1'000'000, [](std::size_t i) { return f(i); });
/// }
/// @endcode
template <class F>
auto gather(std::size_t n, F f, distribute_options options = {}) {
  using R = std::remove_cvref_t<detail::item_result_t<F>>;
  static_assert(!std::is_void_v<R>,
                "cohort::mpi::gather: f returns void; use cohort::mpi::for_each");
  static_assert(detail::is_exchangeable<R>,
                "cohort::mpi::gather: the result type must be trivially copyable (and default "
                "constructible) or std::string, so it can be sent between ranks as bytes");
  std::vector<R> out(n);
  detail::gather_body<F, R> b(f, out);
  detail::distribute(n, b, options);
  return out;
}

/// Collective: every rank returns init op map(0) op map(1) ... op map(n-1), where map(i)
/// (or map(i, std::stop_token)) runs exactly once for each i, on some rank.
///
/// Each chunk folds its items left to right; every rank folds the chunks' partial results
/// in index order, onto init, so every rank returns the same bits.
/// Requirements: as for_each(); T is trivially copyable (partial results travel as bytes)
/// and constructible from map's result; op is associative, not necessarily commutative,
/// callable as op(T, map's result) and op(T, T), and safe to call concurrently. init is
/// used exactly once.
/// Guarantees and memory ordering: as for_each().
/// Example:
/// @code
/// double sum = cohort::mpi::reduce(n, 0.0, [](std::size_t i) { return term(i); }, std::plus<>{});
/// @endcode
template <class T, class M, class Op>
T reduce(std::size_t n, T init, M map, Op op, distribute_options options = {}) {
  static_assert(std::is_trivially_copyable_v<T>,
                "cohort::mpi::reduce: T must be trivially copyable, so partial results can be "
                "sent between ranks as bytes");
  detail::reduce_body<T, M, Op> b(map, op);
  detail::distribute(n, b, options);
  return b.fold(std::move(init));
}

/// \brief A stream of items of unknown length, handed out by rank 0 as they come and run
/// on every rank; what each item produced goes back to rank 0 (the job protocol of
/// `cohort-run --mpi`; lib/mpi/README.md, "The protocol of a stream").
///
/// Collective: every rank constructs one with its own capacity and calls run() on the
/// thread that makes its MPI calls. Rank 0 feeds items with push() (from a thread of its
/// own: run() occupies the MPI thread) and ends the input with close(). Each item is handed
/// to exactly one rank's `run` handler (at most `capacity` at once per rank; ranks other
/// than 0 queue as many more while their items are short, < 50 ms on average, to hide the
/// round trip to rank 0); the rank calls complete() when it
/// ended, and rank 0's `finished` handler receives the result bytes. stop() on any rank
/// ends the stream on every rank: nothing more is handed out, every rank's `stopped`
/// handler runs (cancel what runs there), and run() returns once every handed-out item
/// was completed. Handlers run on the progress thread (the one in run()), never
/// concurrently, and must not block for long: that thread drives the communication.
/// Workers never call MPI: complete(), push() and stop() only queue and wake it.
/// One stream (or other cohort::mpi collective) at a time per process.
class item_stream {
 public:
  /// What a stream calls, on the progress thread of the rank named.
  struct handlers {
    /// Every rank: run the item `index` (0-based, in push order) whose bytes rank 0 pushed;
    /// call complete(index, ...) when it ended, from any thread.
    std::function<void(std::uint64_t index, std::string item)> run;
    /// Rank 0: item `index` ended on `rank` with these result bytes (completion order).
    std::function<void(std::uint64_t index, int rank, std::string result)> finished;
    /// Every rank, once: the stream stops (stop(code) on some rank); items running here
    /// should end soon, and each must still be completed.
    std::function<void(std::uint64_t code)> stopped;
  };

  /// \param capacity items this rank runs at once (>= 1).
  /// \param h what the stream calls (see handlers); moved into the stream.
  item_stream(std::size_t capacity, handlers h);
  ~item_stream();
  item_stream(const item_stream&) = delete;
  item_stream& operator=(const item_stream&) = delete;

  /// Rank 0, any thread but the progress thread: appends an item; waits while 2 x the
  /// total capacity of all ranks wait to be handed out (the input is read as jobs run, in
  /// bounded memory). False when the stream stopped or was closed: the item is dropped.
  bool push(std::string item);
  /// Rank 0, any thread: no more items. Items pushed and not yet handed out still run.
  void close();
  /// Rank 0, any thread: no more items, and those not yet handed out are dropped; running
  /// ones finish (GNU parallel's `--halt soon`). Returns how many were dropped.
  std::uint64_t close_and_drop();
  /// Any rank, any thread: the item handed to this rank ended; `result` goes to rank 0.
  void complete(std::uint64_t index, std::string result);
  /// Any rank, any thread: stop the stream on every rank (see the class comment); `code`
  /// reaches every rank's `stopped` handler (the first stop's code wins).
  void stop(std::uint64_t code = 0);
  /// Collective, on the thread that makes this rank's MPI calls: drives the stream and
  /// returns when the input ended (closed, or stopped) and every item handed out was
  /// completed and, on rank 0, reported to `finished`. Exceptions from handlers or MPI
  /// propagate (MPI errors normally abort the job first: MPI's default error handler).
  void run();
  /// Rank 0: items pushed and never handed out because of a stop or close_and_drop().
  std::uint64_t dropped() const;

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace cohort::mpi
