// SPDX-License-Identifier: Apache-2.0
// environment, rank(), size() and the collective guard (see runtime.hpp).
#include "runtime.hpp"

#include <cohort/mpi.hpp>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>

namespace cohort::mpi {
namespace detail {
namespace {

// cohort's duplicate of MPI_COMM_WORLD. Written only inside a collective_guard (one
// collective at a time) or by the environment (before and after any collective), so the
// guard's acquire/release on `collective_running` orders every access.
MPI_Comm shared_comm = MPI_COMM_NULL;

// One collective at a time: the protocol's point-to-point messages on shared_comm would
// mix between two concurrent calls. Acquire on entry pairs with the release on exit, so a
// later call sees the communicator an earlier one created.
std::atomic<bool> collective_running{false};

// Cached so rank() and size() never call MPI from a thread the granted level forbids (an
// item on a worker under MPI_THREAD_FUNNELED). Relaxed: both values are the same on every
// write (the process's place in MPI_COMM_WORLD never changes).
std::atomic<int> cached_rank{-1};
std::atomic<int> cached_size{-1};

void cache_world() {
  int r = 0, s = 1;
  check(MPI_Comm_rank(MPI_COMM_WORLD, &r), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &s), "MPI_Comm_size");
  cached_rank.store(r, std::memory_order_relaxed);
  cached_size.store(s, std::memory_order_relaxed);
}

const char* level_name(int level) {
  switch (level) {
    case MPI_THREAD_SINGLE:
      return "MPI_THREAD_SINGLE";
    case MPI_THREAD_FUNNELED:
      return "MPI_THREAD_FUNNELED";
    case MPI_THREAD_SERIALIZED:
      return "MPI_THREAD_SERIALIZED";
    case MPI_THREAD_MULTIPLE:
      return "MPI_THREAD_MULTIPLE";
    default:
      return "an unknown MPI thread level";
  }
}

void require_initialised(const char* what) {
  int initialised = 0, finalised = 0;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalised);
  if (!initialised || finalised)
    throw std::logic_error(std::string(what) + ": MPI is " +
                           (finalised ? "already finalised" : "not initialised") +
                           " (create a cohort::mpi::environment in main first)");
}

}  // namespace

void check(int mpi_status, const char* function) {
  if (mpi_status == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  MPI_Error_string(mpi_status, text, &len);
  throw std::runtime_error(std::string("cohort::mpi: ") + function + " failed: " + text);
}

collective_guard::collective_guard(const char* what) {
  require_initialised(what);
  // MPI_Query_thread and MPI_Is_thread_main may be called from any thread.
  int level = MPI_THREAD_SINGLE;
  MPI_Query_thread(&level);
  if (level < MPI_THREAD_FUNNELED)
    throw std::logic_error(std::string(what) + ": MPI granted " + level_name(level) +
                           "; cohort::mpi needs at least MPI_THREAD_FUNNELED");
  if (level == MPI_THREAD_FUNNELED) {
    int is_main = 0;
    MPI_Is_thread_main(&is_main);
    if (!is_main)
      throw std::logic_error(std::string(what) +
                             ": called from a thread MPI does not allow: MPI granted "
                             "MPI_THREAD_FUNNELED, so only the thread that initialised MPI may "
                             "make cohort::mpi calls");
  }
  if (collective_running.exchange(true, std::memory_order_acquire))
    throw std::logic_error(std::string(what) +
                           ": another cohort::mpi collective is running in this process (a "
                           "collective from inside an item, or from two threads at once, is "
                           "not supported)");
  try {
    if (shared_comm == MPI_COMM_NULL)
      check(MPI_Comm_dup(MPI_COMM_WORLD, &shared_comm), "MPI_Comm_dup");
    check(MPI_Comm_rank(shared_comm, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(shared_comm, &size_), "MPI_Comm_size");
    if (cached_rank.load(std::memory_order_relaxed) < 0) cache_world();
  } catch (...) {
    collective_running.store(false, std::memory_order_release);
    throw;
  }
  comm_ = shared_comm;
}

collective_guard::~collective_guard() {
  collective_running.store(false, std::memory_order_release);
}

// Called by the environment before MPI_Finalize (no collective can run then: the
// environment outlives every call made under it).
void free_shared_comm() {
  if (shared_comm != MPI_COMM_NULL) MPI_Comm_free(&shared_comm);
}

void create_shared_comm() {
  if (shared_comm == MPI_COMM_NULL)
    check(MPI_Comm_dup(MPI_COMM_WORLD, &shared_comm), "MPI_Comm_dup");
  cache_world();
}

int world_value(std::atomic<int>& cached) {
  int v = cached.load(std::memory_order_relaxed);
  if (v >= 0) return v;
  require_initialised(&cached == &cached_rank ? "cohort::mpi::rank" : "cohort::mpi::size");
  cache_world();
  return cached.load(std::memory_order_relaxed);
}

}  // namespace detail

environment::environment(int& argc, char**& argv) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (initialised) {
    MPI_Query_thread(&level_);
  } else {
    detail::check(MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &level_), "MPI_Init_thread");
    initialised_here_ = true;
  }
  if (level_ < MPI_THREAD_FUNNELED) {
    if (initialised_here_) MPI_Finalize();
    throw std::runtime_error(std::string("cohort::mpi::environment: MPI granted ") +
                             detail::level_name(level_) +
                             "; cohort::mpi needs at least MPI_THREAD_FUNNELED");
  }
  detail::create_shared_comm();
}

environment::~environment() {
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (finalised) return;
  detail::free_shared_comm();
  if (initialised_here_) MPI_Finalize();
}

int environment::thread_level() const noexcept {
  return level_;
}

int rank() {
  return detail::world_value(detail::cached_rank);
}
int size() {
  return detail::world_value(detail::cached_size);
}

remote_error::remote_error(int rank, std::size_t index, const std::string& original_what)
    : std::runtime_error("rank " + std::to_string(rank) + ", item " + std::to_string(index) + ": " +
                         original_what),
      rank_(rank),
      index_(index) {}

}  // namespace cohort::mpi
