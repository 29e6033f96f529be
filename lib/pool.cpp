#include "pool.hpp"

#include "watchdog.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include <cohort/errors.hpp>

namespace cohort::detail {
namespace {

constexpr std::size_t max_workers = 4096;

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
      sleep_(resolve_worker_count(options.workers)),
      tracer_(resolve_worker_count(options.workers)),
      handler_(&default_handler) {
  const std::size_t n = resolve_worker_count(options.workers);
  if (name_.empty()) name_ = "cohort";
  group_options detached_options;
  detached_options.on_failure = failure_policy::keep_going;
  detached_options.name = "detached";
  detached_ = std::make_unique<group_core>(*this, std::move(detached_options), true);
  workers_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) workers_.push_back(std::make_unique<worker>(*this, i));
  for (auto& w : workers_) w->start();
  if (const char* path = std::getenv("COHORT_TRACE"); path != nullptr && *path != '\0') {
    trace_path_ = path;
    if (name_ != "cohort") trace_path_ += "." + name_;
    timing_.store(true, std::memory_order_relaxed);
    tracer_.start();
  }
  if (const char* stall = std::getenv("COHORT_WATCHDOG"))
    if (const auto d = parse_duration(stall); d.count() > 0) set_watchdog(d);
}

void pool::set_watchdog(std::chrono::nanoseconds stall) {
  watchdog_.reset();
  if (stall.count() > 0) {
    timing_.store(true, std::memory_order_relaxed);
    watchdog_ = std::make_unique<watchdog>(*this, stall);
  }
}

pool::~pool() {
  detached_->wait_all();
  watchdog_.reset();
  if (!trace_path_.empty() && !tracer_.write(trace_path_, name_))
    std::fprintf(stderr, "cohort: could not write the trace to %s\n", trace_path_.c_str());
  stopping_.store(true, std::memory_order_release);
  sleep_.wake_all();
  for (auto& w : workers_) w->join_thread();
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

bool pool::work_visible(const worker* except) const noexcept {
  if (!injected_.looks_empty()) return true;
  for (const auto& w : workers_)
    if (w.get() != except && !w->looks_idle()) return true;
  return false;
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

live_group_list& pool::live_groups_here() noexcept {
  if (worker* w = current_worker; w != nullptr && &w->owner() == this) return w->live_groups;
  return external_groups_;
}

void live_group_list::add(group_core* g) noexcept {
  std::lock_guard<spin_lock> lock(mutex);
  g->prev_live = nullptr;
  g->next_live = head;
  if (head) head->prev_live = g;
  head = g;
}

void live_group_list::remove(group_core* g) noexcept {
  std::lock_guard<spin_lock> lock(mutex);
  if (g->prev_live)
    g->prev_live->next_live = g->next_live;
  else
    head = g->next_live;
  if (g->next_live) g->next_live->prev_live = g->prev_live;
}

group_core* next_live_of(group_core* g) noexcept {
  return g->next_live;
}

}  // namespace cohort::detail

namespace cohort::detail {
std::size_t pool_size(const pool& p) noexcept {
  return p.size();
}
}  // namespace cohort::detail
