// SPDX-License-Identifier: Apache-2.0
// One collective call on one rank: the progress loop that runs on the calling thread, and
// the state the chunk tasks (on workers) share with it.
//
// Threads: one progress thread per rank calls MPI for the length of the call. It is the
// calling thread when that is not a worker (the usual case: main; also the only thread
// MPI_THREAD_FUNNELED allows). When the caller is a worker (a collective inside a task),
// the progress loop runs on a thread of its own and the calling worker helps run the
// items meanwhile, so workers never call MPI and one worker per rank is enough. Chunk
// tasks touch only `shared_` (under its mutex) and `stop_items_`. README.md has the rest.
#pragma once

#include "exchange.hpp"
#include "protocol.hpp"
#include "runtime.hpp"

#include <cohort/detail/cancel_node.hpp>
#include <cohort/mpi.hpp>
#include <cohort/task_group.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <list>
#include <mutex>
#include <utility>
#include <vector>

namespace cohort::mpi::detail {

class call {
 public:
  using clock = std::chrono::steady_clock;

  // `entry`: when the caller entered the collective (the deadline counts from there).
  call(const collective_guard& guard, std::size_t n, body& b, const distribute_options& options,
       clock::time_point entry);
  // Runs this rank's part of the call; returns or throws what every rank returns or throws.
  void run();

  // ---- called by chunk tasks, on workers --------------------------------------------
  // Relaxed: the flag only tells items not to start; it publishes no data (failures go
  // through shared_.mutex).
  bool stopping() const noexcept { return stop_items_.load(std::memory_order_relaxed); }
  void item_failed(std::size_t index, std::exception_ptr e);
  void item_cancelled();
  void chunk_ended();

 private:
  struct failure {
    std::size_t index;
    std::exception_ptr error;
  };
  struct pending_send {
    std::array<std::uint64_t, 2> payload;
    MPI_Request request;
  };

  struct chunk_task {
    task<void> handle;
    int borrowed = 0;  // the calling worker is waiting on it (help_run_items)
  };

  // The progress loop and its steps (call.cpp).
  void progress();
  void help_run_items(const std::atomic<bool>& progress_done);
  void agree_on_arguments();
  bool look_at_local_events();
  bool probe(int source, int tag, MPI_Status& status);
  bool receive_stops();
  bool serve_requests();  // rank 0
  bool receive_grant();   // ranks != 0
  bool refill();
  void spawn_chunk(std::size_t begin, std::size_t end);
  std::pair<std::size_t, std::size_t> take_chunk();  // rank 0's counter
  void stop_here(std::uint64_t why);
  void stop_locally();
  void send(int to, int tag, std::uint64_t a, std::uint64_t b = 0, int count = 1);
  void sleep(std::chrono::microseconds pause);
  bool locally_finished();

  // The end of the call (finish.cpp): every rank learns how every rank ended.
  void finish();
  void exchange_results(const std::vector<call_summary>& all);

  MPI_Comm comm_;
  int me_, ranks_;
  std::size_t n_;
  body& body_;
  const distribute_options& options_;
  std::size_t workers_ = 1;        // this rank's scheduler
  std::size_t total_workers_ = 1;  // all ranks' (rank 0's guided sizes)
  clock::time_point entry_;
  clock::time_point deadline_ = clock::time_point::max();
  cohort::detail::cancel_node* caller_ = nullptr;  // the calling task's node: an outside cancel
  task_group group_;

  // Progress thread only.
  // Chunks spawned and not yet seen ended. Guarded by handles_mutex_ only because the
  // calling worker borrows handles to help run them (help_run_items).
  std::list<chunk_task> in_flight_;
  std::mutex handles_mutex_;
  std::vector<std::pair<std::size_t, std::size_t>> ran_chunks_;
  std::deque<pending_send> sends_;  // references stay valid on push_back (MPI owns them)
  backoff pause_;
  bool stopped_ = false;    // this rank knows the call stops
  bool exhausted_ = false;  // no more chunks for this rank
  bool joined_ = false;
  std::uint64_t raised_ = 0;  // reason bits this rank raised
  bool sent_stop_ = false;
  std::vector<char> stop_received_;  // from each rank
  std::size_t failures_seen_ = 0;
  // rank 0
  std::size_t next_ = 0;
  // ranks != 0
  bool request_out_ = false;
  std::array<std::uint64_t, 2> grant_{};
  MPI_Request grant_request_ = MPI_REQUEST_NULL;
  std::uint64_t request_payload_ = 0;

  // Shared with the chunk tasks.
  std::atomic<bool> stop_items_{false};
  struct {
    std::mutex mutex;
    std::condition_variable wake;  // the progress thread sleeps here between polls
    bool event = false;            // a chunk ended or an item failed since the last look
    bool item_cancelled = false;
    std::vector<failure> failures;
  } shared_;
};

}  // namespace cohort::mpi::detail
