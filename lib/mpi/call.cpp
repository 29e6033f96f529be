// SPDX-License-Identifier: Apache-2.0
// The progress loop of one collective call (see call.hpp and README.md).
#include "call.hpp"

#include <cohort/detail/runtime.hpp>
#include <cohort/scheduler.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>

namespace cohort::mpi {
namespace detail {

// ---- chunk_context: what run_items sees --------------------------------------------------

bool chunk_context::stopping() const noexcept {
  return static_cast<const call*>(call_)->stopping() || token_.stop_requested();
}
void chunk_context::item_failed(std::size_t index, std::exception_ptr e) {
  static_cast<call*>(call_)->item_failed(index, std::move(e));
}
void chunk_context::item_cancelled(std::size_t) {
  static_cast<call*>(call_)->item_cancelled();
}

// ---- the call --------------------------------------------------------------------------

call::call(const collective_guard& guard, std::size_t n, body& b, const distribute_options& options,
           clock::time_point entry)
    : comm_(guard.comm()),
      me_(guard.rank()),
      ranks_(guard.size()),
      n_(n),
      body_(b),
      options_(options),
      workers_(cohort::detail::scheduler_of(cohort::detail::ambient_pool()).workers()),
      entry_(entry),
      caller_(cohort::detail::current_node),
      // keep_going: the group never cancels on its own; this call decides when to stop
      // (a failure here or elsewhere, a deadline, a cancel) and calls group_.cancel().
      group_(group_options{.on_failure = failure_policy::keep_going,
                           .name = options.name.empty() ? "cohort::mpi" : options.name}) {
  stop_received_.assign(static_cast<std::size_t>(ranks_), 0);
}

void call::item_failed(std::size_t index, std::exception_ptr e) {
  // Under cancel_siblings the other chunks of this rank stop starting items now; the
  // progress thread spreads the stop to the other ranks when it wakes.
  if (options_.on_failure == failure_policy::cancel_siblings)
    stop_items_.store(true, std::memory_order_relaxed);
  {
    std::lock_guard lock(shared_.mutex);
    shared_.failures.push_back({index, std::move(e)});
    shared_.event = true;
  }
  shared_.wake.notify_one();
}

void call::item_cancelled() {
  // An item that observed a stop this call requested is not news; one that throws
  // task_cancelled on its own (or because the calling task was cancelled) stops the call.
  if (stopping()) return;
  {
    std::lock_guard lock(shared_.mutex);
    shared_.item_cancelled = true;
    shared_.event = true;
  }
  shared_.wake.notify_one();
}

void call::chunk_ended() {
  {
    std::lock_guard lock(shared_.mutex);
    shared_.event = true;
  }
  // The group's join waits for this task to return, so `this` outlives the notify.
  shared_.wake.notify_one();
}

// Every rank checks that all ranks passed the same arguments (a rank with a different n
// would write outside its result vector), and learns every rank's worker count.
void call::agree_on_arguments() {
  const call_arguments mine{
      n_, options_.chunk, static_cast<std::uint64_t>(options_.on_failure),
      options_.timeout ? static_cast<std::uint64_t>(options_.timeout->count()) : 0, workers_};
  std::vector<call_arguments> all(static_cast<std::size_t>(ranks_));
  constexpr int words = sizeof(call_arguments) / sizeof(std::uint64_t);
  MPI_Request request;
  check(
      MPI_Iallgather(&mine, words, MPI_UINT64_T, all.data(), words, MPI_UINT64_T, comm_, &request),
      "MPI_Iallgather");
  wait_polling(request);
  total_workers_ = 0;
  for (int r = 0; r < ranks_; ++r) {
    const call_arguments& a = all[static_cast<std::size_t>(r)];
    if (a.n != mine.n || a.chunk != mine.chunk || a.policy != mine.policy ||
        a.timeout_ns != mine.timeout_ns)
      throw std::logic_error(
          "cohort::mpi: rank " + std::to_string(r) + " passed n = " + std::to_string(a.n) +
          " and options that differ from rank " + std::to_string(me_) +
          "'s (n = " + std::to_string(mine.n) + "): every rank must pass the same n and options");
    total_workers_ += a.workers;
  }
}

void call::run() {
  if (caller_ == nullptr) return progress();
  // On a worker: progress on a thread of our own, while this worker runs items.
  std::atomic<bool> done{false};
  std::exception_ptr outcome;
  std::thread progress_thread([&] {
    try {
      progress();
    } catch (...) {
      outcome = std::current_exception();
    }
    done.store(true, std::memory_order_release);  // pairs with the acquire in help_run_items
  });
  help_run_items(done);
  progress_thread.join();
  if (outcome) std::rethrow_exception(outcome);
}

// The calling worker waits on one unfinished chunk at a time: a worker's wait runs that
// chunk if nobody started it, and other jobs of the pool (the other chunks) meanwhile.
void call::help_run_items(const std::atomic<bool>& progress_done) {
  backoff idle;
  while (!progress_done.load(std::memory_order_acquire)) {
    chunk_task* c = nullptr;
    {
      std::lock_guard lock(handles_mutex_);
      for (auto& t : in_flight_)
        if (!t.handle.done()) {
          c = &t;
          ++c->borrowed;
          break;
        }
    }
    if (c == nullptr) {
      std::this_thread::sleep_for(idle.next(backoff::ending_max));
      continue;
    }
    idle.reset();
    c->handle.wait_for(backoff::ending_max);
    std::lock_guard lock(handles_mutex_);
    --c->borrowed;
  }
}

void call::progress() {
  if (options_.timeout) deadline_ = entry_ + *options_.timeout;
  agree_on_arguments();
  // When this rank is done it enters a non-blocking barrier, and keeps serving (rank 0:
  // requests and stops of ranks still working) until every rank is done.
  MPI_Request all_done = MPI_REQUEST_NULL;
  for (;;) {
    bool progressed = look_at_local_events();
    progressed |= receive_stops();
    progressed |= me_ == 0 ? serve_requests() : receive_grant();
    progressed |= refill();
    if (all_done == MPI_REQUEST_NULL && locally_finished()) {
      check(MPI_Ibarrier(comm_, &all_done), "MPI_Ibarrier");
      progressed = true;
    }
    if (all_done != MPI_REQUEST_NULL) {
      if (test_a_few_times(all_done)) break;
    }
    if (progressed) pause_.reset();
    sleep(pause_.next(stopped_ ? backoff::ending_max : backoff::working_max));
  }
  finish();
}

bool call::look_at_local_events() {
  bool failed = false, cancelled = false, any = false;
  {
    std::lock_guard lock(shared_.mutex);
    any = shared_.event;
    shared_.event = false;
    failed = shared_.failures.size() > failures_seen_;
    failures_seen_ = shared_.failures.size();
    cancelled = shared_.item_cancelled;
  }
  if (failed && options_.on_failure == failure_policy::cancel_siblings) stop_here(reason_failure);
  if (cancelled) stop_here(reason_cancelled);
  // Once this rank's items all ended, a cancel or a deadline changes nothing here.
  if (!joined_ && caller_ != nullptr && caller_->cancelled()) stop_here(reason_cancelled);
  if (!joined_ && !stopped_ && clock::now() >= deadline_) stop_here(reason_timeout);
  // Drop the chunks that ended (also the ones a cancel skipped, which never notify).
  {
    std::lock_guard lock(handles_mutex_);
    std::erase_if(in_flight_,
                  [](const chunk_task& t) { return t.borrowed == 0 && t.handle.done(); });
  }
  // Completed sends give their slot back; the rest complete as their receivers poll.
  while (!sends_.empty()) {
    int done = 0;
    check(MPI_Test(&sends_.front().request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (!done) break;
    sends_.pop_front();
  }
  return any;
}

// Probes up to progress_calls times (see exchange.hpp).
bool call::probe(int source, int tag, MPI_Status& status) {
  int flag = 0;
  for (int k = 0; k < progress_calls && !flag; ++k)
    check(MPI_Iprobe(source, tag, comm_, &flag, &status), "MPI_Iprobe");
  return flag != 0;
}

// A stop from any rank (every rank that raises one tells every other rank directly: one
// hop, so a failure reaches everybody within one poll interval).
bool call::receive_stops() {
  bool progressed = false;
  for (;;) {
    MPI_Status status;
    if (!probe(MPI_ANY_SOURCE, tag_stop, status)) return progressed;
    std::uint64_t why = 0;
    check(MPI_Recv(&why, 1, MPI_UINT64_T, status.MPI_SOURCE, tag_stop, comm_, MPI_STATUS_IGNORE),
          "MPI_Recv");
    stop_received_[static_cast<std::size_t>(status.MPI_SOURCE)] = 1;
    progressed = true;
    if (!stopped_) stop_locally();
  }
}

// Rank 0: answers every request, with an empty grant once the call stopped or the items
// ran out, so every request gets exactly one answer.
bool call::serve_requests() {
  bool progressed = false;
  for (;;) {
    MPI_Status status;
    if (!probe(MPI_ANY_SOURCE, tag_request, status)) return progressed;
    progressed = true;
    std::uint64_t word = 0;
    check(
        MPI_Recv(&word, 1, MPI_UINT64_T, status.MPI_SOURCE, tag_request, comm_, MPI_STATUS_IGNORE),
        "MPI_Recv");
    auto [begin, end] = stopped_ ? std::pair<std::size_t, std::size_t>{0, 0} : take_chunk();
    send(status.MPI_SOURCE, tag_grant, begin, end, 2);
  }
}

bool call::receive_grant() {
  if (!request_out_) return false;
  if (!test_a_few_times(grant_request_)) return false;
  request_out_ = false;
  if (grant_[0] == grant_[1])
    exhausted_ = true;
  else if (!stopped_)
    spawn_chunk(grant_[0], grant_[1]);
  // else: a chunk granted just before rank 0 learned of the stop; never started.
  return true;
}

// Keeps each worker busy and one chunk queued behind them on ranks != 0, whose next chunk
// is a round trip away (rank 0 takes from its own counter at once).
bool call::refill() {
  const std::size_t target = me_ == 0 ? workers_ : workers_ + 1;
  bool progressed = false;
  while (!stopped_ && !exhausted_ && in_flight_.size() < target) {
    if (me_ == 0) {
      auto [begin, end] = take_chunk();
      if (begin == end) {
        exhausted_ = true;
        break;
      }
      spawn_chunk(begin, end);
      progressed = true;
    } else {
      if (request_out_) break;
      check(MPI_Irecv(grant_.data(), 2, MPI_UINT64_T, 0, tag_grant, comm_, &grant_request_),
            "MPI_Irecv");
      send(0, tag_request, request_payload_);
      request_out_ = true;
      break;
    }
  }
  return progressed;
}

// Guided sizes: a share of what is left over twice the number of workers, so chunks
// shrink as the end nears and a rank whose items are slow takes fewer of them.
std::pair<std::size_t, std::size_t> call::take_chunk() {
  const std::size_t left = n_ - next_;
  if (left == 0) return {next_, next_};
  const std::size_t share = 2 * std::max<std::size_t>(1, total_workers_);
  const std::size_t size =
      std::min(left, options_.chunk != 0 ? options_.chunk : (left + share - 1) / share);
  const std::size_t begin = next_;
  next_ += size;
  return {begin, next_};
}

void call::spawn_chunk(std::size_t begin, std::size_t end) {
  ran_chunks_.emplace_back(begin, end);
  try {
    // From a progress thread of our own this is a spawn from outside the owner, which the
    // group supports as it does its children's spawns (atomic counts, injection queue).
    auto handle = group_.spawn([this, begin, end](std::stop_token token) {
      chunk_context ctx(this, std::move(token));
      body_.run(begin, end, ctx);
      chunk_ended();
    });
    std::lock_guard lock(handles_mutex_);
    in_flight_.push_back({std::move(handle)});
  } catch (...) {  // no memory for the task: its first item fails, nothing started
    item_failed(begin, std::current_exception());
  }
}

// This rank raises a stop (a failure here, its deadline, its caller's cancel) and tells
// every other rank, unless a stop reached it first.
void call::stop_here(std::uint64_t why) {
  raised_ |= why;
  if (stopped_) return;
  stop_locally();
  for (int r = 0; r < ranks_; ++r)
    if (r != me_) send(r, tag_stop, why);
  sent_stop_ = true;
}

void call::stop_locally() {
  stopped_ = true;
  stop_items_.store(true, std::memory_order_relaxed);  // no data rides on it (see call.hpp)
  if (!joined_) group_.cancel();                       // running items see their stop token
}

void call::send(int to, int tag, std::uint64_t a, std::uint64_t b, int count) {
  pending_send& s = sends_.emplace_back();
  s.payload = {a, b};
  check(MPI_Isend(s.payload.data(), count, MPI_UINT64_T, to, tag, comm_, &s.request), "MPI_Isend");
  // Push it out now: an implementation may move it only in a later progress call, and this
  // thread may sleep for 10 ms before its next one (a grant late by that starves a rank).
  test_a_few_times(s.request);
}

void call::sleep(std::chrono::microseconds pause) {
  if (!stopped_ && !joined_ && deadline_ != clock::time_point::max()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::microseconds>(deadline_ - clock::now());
    pause = std::clamp(left, std::chrono::microseconds(0), pause);
  }
  std::unique_lock lock(shared_.mutex);
  shared_.wake.wait_for(lock, pause, [this] { return shared_.event; });
}

// Every chunk of this rank ended and no grant is on its way. The group is joined here, so
// nothing this call started runs after this point.
bool call::locally_finished() {
  if (!in_flight_.empty() || request_out_ || !(stopped_ || exhausted_)) return false;
  if (!joined_) {
    joined_ = true;
    try {
      group_.join();
    } catch (const task_cancelled&) {
      // The calling task was cancelled: look_at_local_events raised it already.
    }
    look_at_local_events();  // failures of the last chunks
  }
  return true;
}

}  // namespace detail

void detail::distribute(std::size_t n, body& b, const distribute_options& options) {
  const auto entry = call::clock::now();
  collective_guard guard("cohort::mpi collective");
  if (n == 0) return;
  call c(guard, n, b, options, entry);
  c.run();
}

}  // namespace cohort::mpi
