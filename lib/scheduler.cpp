#include <cohort/scheduler.hpp>

#include <cohort/detail/block_pool.hpp>

#include "pool.hpp"
#include "stats.hpp"

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
void scheduler::enable_timing(bool on) {
  pool_->enable_timing(on);
}

void release_cached_memory() noexcept {
  detail::release_cached_blocks();
}

scheduler& default_scheduler() {
  // Never destroyed: tasks may still run while other static objects are destroyed at exit.
  static scheduler* s = new scheduler();
  return *s;
}

namespace detail {

pool& pool_of(scheduler& s) noexcept {
  return s.internal_pool();
}

pool& ambient_pool() {
  if (worker* w = current_worker) return w->owner();
  return default_scheduler().internal_pool();
}

scheduler& scheduler_of(pool& p) noexcept {
  return p.owner();
}

}  // namespace detail
}  // namespace cohort
