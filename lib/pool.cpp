// SPDX-License-Identifier: Apache-2.0
#include "pool.hpp"

#include "observe/watchdog.hpp"

#include "cancel_tree.hpp"
#include "lib_access.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include <cohort/errors.hpp>

namespace cohort::detail {
namespace {

constexpr std::size_t max_workers = 4096;
// Spare threads that may take the places of blocked workers, beyond the workers asked
// for. Each is started only when needed and then kept (parked) until the pool stops.
constexpr std::size_t max_spares = 256;

std::size_t resolve_worker_count(std::size_t requested) {
  if (requested == 0) {
    const unsigned hc = std::thread::hardware_concurrency();
    return hc == 0 ? 1 : hc;
  }
  if (requested > max_workers)
    throw std::invalid_argument("cohort::scheduler: " + std::to_string(requested) +
                                " workers requested; the limit is " + std::to_string(max_workers) +
                                " (use 0 for one per hardware thread)");
  return requested;
}

void default_handler(std::exception_ptr e, std::string_view task_name) {
  const std::string what = describe_exception(e);
  std::fprintf(stderr, "cohort: task '%.*s' failed and nobody retrieved its exception: %s\n",
               static_cast<int>(task_name.size()), task_name.data(), what.c_str());
}

}  // namespace

pool::pool(scheduler& owner, scheduler_options options)
    : owner_(&owner),
      name_(std::move(options.name)),
      limit_(resolve_worker_count(options.workers)),
      capacity_(limit_ + max_spares),
      table_(new std::atomic<worker*>[capacity_]),
      outside_(std::make_shared<outside_slot_table>(*this, capacity_)),
      sleep_(limit_, capacity_, &pool::spawn_spare, this),
      tracer_(capacity_, outside_slot_table::max_slots),
      handler_(&default_handler) {
  if (name_.empty()) name_ = "cohort";
  for (std::size_t i = 0; i < capacity_; ++i) table_[i].store(nullptr, std::memory_order_relaxed);
  group_options detached_options;
  detached_options.on_failure = failure_policy::keep_going;
  detached_options.name = "detached";
  detached_ = std::make_unique<group_core>(*this, std::move(detached_options), true);
  owned_.reserve(capacity_);  // spares never reallocate under the lock
  for (std::size_t i = 0; i < limit_; ++i) start_thread(i);
  register_pool(this);
  if (const char* path = std::getenv("COHORT_TRACE"); path != nullptr && *path != '\0') {
    trace_path_ = path;
    if (name_ != "cohort") trace_path_ += "." + name_;
    timing_.store(true, std::memory_order_relaxed);
    tracer_.start();
  }
  // A value we cannot read is said, not ignored: the user meant to turn something on.
  auto duration_from_env = [](const char* var) {
    const char* text = std::getenv(var);
    if (text == nullptr || *text == '\0') return std::chrono::nanoseconds(0);
    const auto d = parse_duration(text);
    if (d.count() <= 0)
      std::fprintf(stderr, "cohort: ignoring %s=%s: not a duration (write e.g. 5s, 250ms, 2min)\n",
                   var, text);
    return d;
  };
  stall_ = duration_from_env("COHORT_WATCHDOG");
  long_task_ = duration_from_env("COHORT_LONG_TASK");
  restart_watchdog();
  if (silent_block_guard::enabled_by_environment()) {
    try {
      silent_block_guard_ = std::make_unique<silent_block_guard>(*this);
    } catch (...) {  // no thread for it: the pool works, as before the guard existed
      std::fprintf(stderr,
                   "cohort: could not start the silent-block guard of pool '%s'; a task that "
                   "blocks outside cohort::blocking() may hold its worker\n",
                   name_.c_str());
    }
  }
}

void pool::set_watchdog(std::chrono::nanoseconds stall) {
  stall_ = stall;
  restart_watchdog();
}

void pool::set_long_task_report(std::chrono::nanoseconds threshold) {
  long_task_ = threshold;
  restart_watchdog();
}

void pool::restart_watchdog() {
  watchdog_.reset();
  if (stall_.count() > 0 || long_task_.count() > 0) {
    timing_.store(true, std::memory_order_relaxed);
    watchdog_ = std::make_unique<watchdog>(*this, stall_, long_task_);
  }
}

void pool::finish_at_exit() noexcept {
  if (current_worker != nullptr && &current_worker->owner() == this) {
    // exit() called from one of our own tasks: waiting for the detached tasks here could
    // wait for this very one. Say what is left instead.
    if (const std::size_t left = detached_->unfinished())
      std::fprintf(stderr,
                   "cohort: exit() called from a task of scheduler '%s' with %zu detached "
                   "task(s) unfinished; they do not run to the end\n",
                   name_.c_str(), left);
  } else {
    detached_->wait_all();
  }
  if (!trace_path_.empty() && !tracer_.write(trace_path_, name_))
    std::fprintf(stderr, "cohort: could not write the trace to %s\n", trace_path_.c_str());
  trace_path_.clear();
}

pool::~pool() {
  detached_->wait_all();
  unregister_pool(this);
  // A group that outlives its scheduler would use freed memory at its next step: say
  // which one, and stop here rather than later in some unrelated place.
  std::string alive;
  for_each_live_group([&](group_core& g) {
    if (&g == detached_.get()) return;
    alive += (alive.empty() ? "" : ", ") +
             (g.name().empty() ? std::string("(unnamed group)") : "'" + g.name() + "'");
  });
  if (!alive.empty()) {
    std::fprintf(stderr,
                 "cohort: scheduler '%s' destroyed while its group(s) %s are alive; a group "
                 "must be joined or destroyed before its scheduler\n",
                 name_.c_str(), alive.c_str());
    std::abort();
  }
  watchdog_.reset();
  silent_block_guard_.reset();  // before stopping_: it may start a spare
  if (!trace_path_.empty() && !tracer_.write(trace_path_, name_))
    std::fprintf(stderr, "cohort: could not write the trace to %s\n", trace_path_.c_str());
  stopping_.store(true, std::memory_order_release);
  sleep_.wake_all();
  // Spares may still be starting; wait_all above returned, so none is needed any more,
  // but each must see `stopping_` and end.
  for (;;) {
    std::vector<worker*> started;
    {
      std::lock_guard lock(threads_mutex_);
      for (auto& w : owned_) started.push_back(w.get());
    }
    for (worker* w : started) w->join_thread();
    std::lock_guard lock(threads_mutex_);
    if (owned_.size() == started.size()) break;
  }
  // What is left on outside threads' slots are queued references to children a waiter
  // ran inline (every group is gone); drop them. Threads that still hold a slot keep the
  // table alive and see it retired.
  for (std::size_t k = 0, m = outside_->count(); k < m; ++k) outside_->at(k)->drop_leftovers();
  outside_->retire();
  timers_.reset();  // before the groups that may still have deadlines: none are left
  detached_.reset();
}

timer_service& pool::timers() {
  std::call_once(timers_once_, [this] { timers_ = std::make_unique<timer_service>(); });
  return *timers_;
}

void pool::inject(job* j) {
  injected_.push(j);
  injected_count.fetch_add(1, std::memory_order_relaxed);
  sleep_.notify_injected_job();
}

void pool::start_thread(std::size_t index) {
  auto w = std::make_unique<worker>(*this, index);
  worker* raw = w.get();
  {
    std::lock_guard lock(threads_mutex_);
    owned_.push_back(std::move(w));
  }
  // release: thieves that see the pointer see a constructed worker (worker_if_started).
  table_[index].store(raw, std::memory_order_release);
  raw->start();
}

bool pool::spawn_spare(void* self, std::size_t index) noexcept {
  auto* p = static_cast<pool*>(self);
  if (p->stopping()) return false;
  try {
    p->start_thread(index);
    return true;
  } catch (...) {
    std::fprintf(stderr, "cohort: could not start a spare thread for pool '%s'\n",
                 p->name_.c_str());
    return false;
  }
}

bool pool::work_visible() noexcept {
  // Relaxed loads after the caller's seq_cst barrier (sleep.hpp): the barrier, not the
  // loads, orders them after the caller's counters RMW.
  if (!injected_.looks_empty()) return true;
  bool visible = false;
  // The outside slots too: a thread outside the pool may push, then block outside cohort.
  for_each_worker([&](worker& w) { visible = visible || !w.thief().looks_empty(); });
  return visible;
}

void pool::set_handler(unhandled_exception_handler h) {
  std::lock_guard lock(handler_mutex_);
  handler_ = h ? std::move(h) : unhandled_exception_handler(&default_handler);
}

void pool::report_unhandled(const std::exception_ptr& e, std::string_view task_name) noexcept {
  unhandled_exception_handler h;
  {
    std::lock_guard lock(handler_mutex_);
    h = handler_;
  }
  try {
    h(e, task_name);
  } catch (...) {
    std::fprintf(stderr, "cohort: the unhandled-exception handler threw; ignored\n");
  }
}

void live_group_list::add(group_core* g) noexcept {
  std::lock_guard<spin_lock> lock(mutex);
  groups.push_front(*g);
}

void live_group_list::remove_and_unlink_creator(group_core* g) noexcept {
  std::lock_guard<spin_lock> lock(mutex);
  // Under the list lock, like detach_groups_of: either it cut us already (null), or it
  // has not looked at us yet and will not find us. The decrement is our last touch of
  // the creator.
  if (cancel_node* creator = g->up()) {
    g->parent.store(nullptr, std::memory_order_relaxed);
    if (creator->node_kind == cancel_node::kind::leaf && creator == current_node) {
      --creator->groups_linked_here;  // on the creator's own thread (cancel_node.hpp)
    } else {
      // release: pairs with end_of_node's acquire.
      creator->live_groups.fetch_sub(1, std::memory_order_release);
    }
  }
  groups.erase(*g);
}

// ---- groups that outlive their creator (cancel_node::up) -------------------------------

namespace {

// Every pool alive, so a cut can find groups created under a node on any scheduler.
struct pool_registry {
  std::mutex mutex;
  std::vector<pool*> pools;  // guarded by mutex
};
pool_registry& pools_alive() {
  static pool_registry* r = new pool_registry();  // outlives pools destroyed at exit
  return *r;
}

}  // namespace

void register_pool(pool* p) {
  auto& r = pools_alive();
  std::lock_guard lock(r.mutex);
  r.pools.push_back(p);
}

void unregister_pool(pool* p) noexcept {
  auto& r = pools_alive();
  std::lock_guard lock(r.mutex);
  std::erase(r.pools, p);
}

void detach_groups_of(cancel_node* n) noexcept {
  // The groups keep what they inherited: cancelled stays cancelled.
  const bool was_cancelled = n->cancelled();
  {
    auto& r = pools_alive();
    std::lock_guard lock(r.mutex);
    for (pool* p : r.pools) {
      p->for_each_live_group([&](group_core& g) {  // holds each list's lock
        if (g.up() != n) return;
        if (was_cancelled) {
          g.flag.store(1, std::memory_order_seq_cst);
          cancel_epoch.fetch_add(1, std::memory_order_seq_cst);
        }
        // seq_cst: the cut before wait_out_walkers' load (see walk_guard).
        g.parent.store(nullptr, std::memory_order_seq_cst);
        n->live_groups.fetch_sub(1, std::memory_order_relaxed);
      });
    }
  }
  wait_out_walkers();
}

}  // namespace cohort::detail
