// SPDX-License-Identifier: Apache-2.0
#include <cohort/scheduler.hpp>

#include <cohort/detail/block_pool.hpp>

#include <cstdio>
#include <cstdlib>

#include "lib_access.hpp"
#include "observe/stats.hpp"
#include "pool.hpp"

namespace cohort {

scheduler::scheduler(scheduler_options options)
    : pool_(std::make_unique<detail::pool>(*this, std::move(options))) {}

scheduler::~scheduler() = default;

std::size_t scheduler::workers() const noexcept {
  return pool_->size();
}

detail::group_core& scheduler::detached_group() noexcept {
  return pool_->detached();
}

void scheduler::set_unhandled_exception_handler(unhandled_exception_handler handler) {
  pool_->set_handler(std::move(handler));
}

scheduler_stats scheduler::stats() const {
  return detail::collect_stats(*pool_);
}

std::string scheduler::dump() const {
  return detail::render_dump(*pool_);
}

void scheduler::start_tracing() {
  pool_->enable_timing(true);
  pool_->trace().start();
}
void scheduler::stop_tracing() {
  pool_->trace().stop();
}
bool scheduler::write_trace(const std::string& path) const {
  return pool_->trace().write(path, pool_->name());
}
void scheduler::set_watchdog(std::chrono::nanoseconds stall) {
  pool_->set_watchdog(stall);
}
void scheduler::set_long_task_report(std::chrono::nanoseconds threshold) {
  pool_->set_long_task_report(threshold);
}
void scheduler::enable_timing(bool on) {
  pool_->enable_timing(on);
}

void release_cached_memory() noexcept {
  detail::release_cached_blocks();
}

namespace {

scheduler* the_default = nullptr;

// COHORT_WORKERS=N sets the default scheduler's worker count; a value we cannot read is
// said, not ignored.
std::size_t default_worker_count() {
  const char* text = std::getenv("COHORT_WORKERS");
  if (text == nullptr || *text == '\0') return 0;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') {
    std::fprintf(stderr,
                 "cohort: ignoring COHORT_WORKERS=%s: not a number (0 or unset: one worker per "
                 "hardware thread)\n",
                 text);
    return 0;
  }
  return static_cast<std::size_t>(n);  // an absurd count throws, like scheduler_options
}

// At exit, the default scheduler (never destroyed: tasks may still run while other
// static objects are destroyed) finishes what it owns: detached tasks run to the end and
// the COHORT_TRACE file is written. Nothing spawned with spawn_detached is lost.
void finish_default_scheduler() {
  if (the_default != nullptr) detail::lib_access::pool_of(*the_default).finish_at_exit();
}

}  // namespace

scheduler& default_scheduler() {
  static scheduler* s = [] {
    auto* created = new scheduler(scheduler_options{.workers = default_worker_count()});
    the_default = created;
    std::atexit(&finish_default_scheduler);
    return created;
  }();
  return *s;
}

}  // namespace cohort
